import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/clients/{id}/eligibility/",
        "/api/clients/{id}/screenings/",
        "/api/clients/{id}/clearances/",
        "/api/staff/",
        "/api/auth/token/",
    ):
        assert path in schema


@pytest.fixture
def openapi(api, front_desk):
    api.force_authenticate(front_desk)
    return api.get("/api/schema/", {"format": "json"}).json()


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404"} <= codes, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert {"409", "422"} <= codes, (method, path)


@pytest.mark.django_db
def test_writes_document_the_idempotency_key_header(openapi):
    booking = openapi["paths"]["/api/sessions/"]["post"]
    headers = {p["name"]: p for p in booking["parameters"] if p["in"] == "header"}

    assert not headers["Idempotency-Key"].get("required", False)
    assert "Idempotency-Key" not in {
        p["name"] for p in openapi["paths"]["/api/sessions/"]["get"]["parameters"]
    }


@pytest.mark.django_db
def test_clinic_times_are_documented_without_an_offset(openapi):
    hours = openapi["components"]["schemas"]["WorkingHours"]["properties"]["starts_at"]

    assert "format" not in hours  # OpenAPI's "time" needs an offset; ours has none
    assert hours["pattern"]
