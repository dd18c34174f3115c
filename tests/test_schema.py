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
