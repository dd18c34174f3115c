"""Writes to clients, screenings and clearances, and the client search and history reads."""

import struct
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from clients.models import Clearance, Screening, validate_date_of_birth
from clients.selectors import client_changes, client_search
from clients.services import (
    clearance_default_expiry,
    clearance_record,
    client_create,
    client_update,
    screening_record,
)
from clinic.errors import RuleViolation
from tests.factories import ClientFactory, screening_answers

pytestmark = pytest.mark.django_db

# Noon in Los Angeles on a day well after every issue date used below.
NOW = datetime(2025, 6, 2, 19, 0, tzinfo=UTC)
TODAY = date(2025, 6, 2)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def record(client, by, **overrides):
    fields = {
        "client": client,
        "physician": "Dr. Ada Park",
        "issued_on": date(2025, 5, 1),
        "conditions": ["recent_surgery"],
        "by": by,
    }
    return clearance_record(**(fields | overrides))


# Documents, built from their real signatures ------------------------------------


def png_bytes() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65)) + b"\xff\xd9"
)


@pytest.mark.parametrize(
    ("name", "content", "content_type", "suffix"),
    [
        ("letter.pdf", PDF, "application/pdf", ".pdf"),
        ("scan.png", png_bytes(), "image/png", ".png"),
        ("photo.jpg", JPEG, "image/jpeg", ".jpg"),
    ],
    ids=["pdf", "png", "jpeg"],
)
def test_clearance_document_type_is_read_from_its_bytes(
    clock, a_client, front_desk, name, content, content_type, suffix
):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    clearance = record(a_client, front_desk, document=upload)
    clearance.refresh_from_db()
    assert clearance.document_content_type == content_type
    assert Path(clearance.document.name).suffix == suffix
    with clearance.document.open("rb") as stored:
        assert stored.read() == content


def test_clearance_document_named_for_its_content_not_its_upload_name(clock, a_client, front_desk):
    upload = SimpleUploadedFile("scan.pdf", png_bytes(), content_type="application/pdf")
    clearance = record(a_client, front_desk, document=upload)
    assert clearance.document_content_type == "image/png"
    assert clearance.document.name.endswith(".png")


def test_text_file_named_pdf_is_refused(clock, a_client, front_desk):
    upload = SimpleUploadedFile(
        "letter.pdf", b"Dear colleague, I clear this patient.\n", content_type="application/pdf"
    )
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, document=upload)
    assert caught.value.field == "document"
    assert "PDF, JPEG or PNG" in caught.value.message
    assert not Clearance.objects.exists()


def test_document_over_the_size_limit_is_refused(clock, a_client, front_desk, settings):
    settings.CLEARANCE_DOCUMENT_MAX_MB = 1
    content = PDF + b"0" * (1024 * 1024 + 1 - len(PDF))
    upload = SimpleUploadedFile("letter.pdf", content, content_type="application/pdf")
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, document=upload)
    assert caught.value.field == "document"
    assert "1 MB" in caught.value.message
    assert not Clearance.objects.exists()


def test_document_of_exactly_the_size_limit_is_accepted(clock, a_client, front_desk, settings):
    settings.CLEARANCE_DOCUMENT_MAX_MB = 1
    content = PDF + b"0" * (1024 * 1024 - len(PDF))
    upload = SimpleUploadedFile("letter.pdf", content, content_type="application/pdf")
    clearance = record(a_client, front_desk, document=upload)
    assert clearance.document.size == 1024 * 1024


def test_clearance_document_is_stored_in_private_media(clock, a_client, front_desk, settings):
    upload = SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf")
    clearance = record(a_client, front_desk, document=upload)
    stored = Path(clearance.document.path).resolve()
    assert stored.is_file()
    assert stored.is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT).resolve())
    assert not stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_clearance_without_document_stores_no_file(clock, a_client, front_desk):
    clearance = record(a_client, front_desk)
    assert not clearance.document
    assert clearance.document_content_type == ""


# Clearance rules ------------------------------------------------------------------


def test_clearance_expires_twelve_months_after_issue_by_default(clock, a_client, front_desk):
    clearance = record(a_client, front_desk, issued_on=date(2025, 5, 1))
    assert clearance.expires_on == date(2026, 5, 1)


def test_clearance_issued_on_leap_day_expires_on_february_28th(a_client, front_desk):
    with time_machine.travel(datetime(2024, 3, 15, 19, 0, tzinfo=UTC), tick=False):
        clearance = record(a_client, front_desk, issued_on=date(2024, 2, 29))
    assert clearance.expires_on == date(2025, 2, 28)


def test_clearance_default_expiry_follows_the_setting(settings):
    settings.CLEARANCE_VALID_MONTHS = 6
    assert clearance_default_expiry(date(2025, 8, 31)) == date(2026, 2, 28)


def test_clearance_keeps_an_explicit_expiry(clock, a_client, front_desk):
    clearance = record(
        a_client, front_desk, issued_on=date(2025, 5, 1), expires_on=date(2025, 11, 1)
    )
    clearance.refresh_from_db()
    assert clearance.expires_on == date(2025, 11, 1)


def test_clearance_stores_who_recorded_it_and_what_it_covers(clock, a_client, front_desk):
    clearance = record(
        a_client,
        front_desk,
        physician="  Dr. Lee  ",
        conditions=["implanted_defibrillator", "neurological_disorder"],
    )
    clearance.refresh_from_db()
    assert clearance.physician == "Dr. Lee"
    assert clearance.recorded_by == front_desk
    assert clearance.conditions == ["neurological_disorder", "implanted_defibrillator"]


@pytest.mark.parametrize(
    ("conditions", "named"),
    [
        (["pacemaker"], "pacemaker"),
        (["pregnancy"], "pregnancy"),
        (["recent_surgery", "pacemaker"], "pacemaker"),
    ],
    ids=["pacemaker", "pregnancy", "mixed-with-clearable"],
)
def test_never_treated_condition_cannot_be_cleared(clock, a_client, front_desk, conditions, named):
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, conditions=conditions)
    assert caught.value.field == "conditions"
    assert named in caught.value.message.lower()
    assert "never" in caught.value.message
    assert not Clearance.objects.exists()


def test_unknown_condition_code_is_refused(clock, a_client, front_desk):
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, conditions=["recent_surgery", "migraine"])
    assert caught.value.field == "conditions"
    assert "migraine" in caught.value.message


def test_clearance_covering_no_condition_is_refused(clock, a_client, front_desk):
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, conditions=[])
    assert caught.value.field == "conditions"


def test_clearance_expiring_before_issue_is_refused(clock, a_client, front_desk):
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, issued_on=date(2025, 5, 1), expires_on=date(2025, 4, 30))
    assert caught.value.field == "expires_on"


def test_clearance_expiring_on_its_issue_day_is_accepted(clock, a_client, front_desk):
    clearance = record(
        a_client, front_desk, issued_on=date(2025, 5, 1), expires_on=date(2025, 5, 1)
    )
    assert clearance.expires_on == clearance.issued_on


def test_clearance_issued_in_the_future_is_refused(clock, a_client, front_desk):
    with pytest.raises(RuleViolation) as caught:
        record(a_client, front_desk, issued_on=date(2025, 6, 3))
    assert caught.value.field == "issued_on"


def test_clearance_issued_today_in_clinic_time_is_accepted(a_client, front_desk):
    # 03:00 UTC on June 3rd is still the evening of June 2nd in Los Angeles.
    with time_machine.travel(datetime(2025, 6, 3, 3, 0, tzinfo=UTC), tick=False):
        clearance = record(a_client, front_desk, issued_on=date(2025, 6, 2))
    assert clearance.issued_on == date(2025, 6, 2)


def test_clearance_issued_on_the_utc_date_ahead_of_clinic_time_is_refused(a_client, front_desk):
    with (
        time_machine.travel(datetime(2025, 6, 3, 3, 0, tzinfo=UTC), tick=False),
        pytest.raises(RuleViolation) as caught,
    ):
        record(a_client, front_desk, issued_on=date(2025, 6, 3))
    assert caught.value.field == "issued_on"


# Screenings -------------------------------------------------------------------


def test_screening_record_stores_answers_outcome_and_flags(a_client, front_desk):
    answers = screening_answers("recent_surgery", "cancer_treatment")
    screening = screening_record(client=a_client, answers=answers, by=front_desk)
    screening.refresh_from_db()
    assert screening.answers == answers
    assert screening.outcome == "needs_clearance"
    assert screening.flagged == ["recent_surgery", "cancer_treatment"]
    assert screening.recorded_by == front_desk


def test_screening_record_stores_pregnancy_as_ineligible(a_client, front_desk):
    screening = screening_record(
        client=a_client, answers=screening_answers("pregnant"), by=front_desk
    )
    screening.refresh_from_db()
    assert screening.outcome == "ineligible"
    assert screening.flagged == ["pregnancy"]


def test_screening_record_is_stamped_with_the_clock(clock, a_client, front_desk):
    screening = screening_record(client=a_client, answers=screening_answers(), by=front_desk)
    screening.refresh_from_db()
    assert screening.recorded_at == NOW


def test_new_screening_leaves_the_earlier_one_untouched(a_client, front_desk, esthetician):
    with time_machine.travel(datetime(2025, 5, 1, 17, 0, tzinfo=UTC), tick=False):
        first = screening_record(client=a_client, answers=screening_answers(), by=front_desk)
    with time_machine.travel(NOW, tick=False):
        screening_record(client=a_client, answers=screening_answers("pacemaker"), by=esthetician)
    before = Screening.objects.get(pk=first.pk)
    assert Screening.objects.filter(client=a_client).count() == 2
    assert before.answers == screening_answers()
    assert before.outcome == "eligible"
    assert before.flagged == []
    assert before.recorded_by == front_desk
    assert before.recorded_at == datetime(2025, 5, 1, 17, 0, tzinfo=UTC)


def test_screening_record_refuses_incomplete_answers(a_client, front_desk):
    answers = screening_answers()
    del answers["implanted_defibrillator"]
    with pytest.raises(KeyError):
        screening_record(client=a_client, answers=answers, by=front_desk)
    assert not Screening.objects.exists()


# Clients: validation ----------------------------------------------------------


def client_fields(**overrides):
    return {
        "first_name": "Mara",
        "last_name": "Quinn",
        "email": "mara.quinn@example.com",
        "phone": "+1 415 555 0134",
        "date_of_birth": date(1980, 4, 12),
    } | overrides


def test_client_create_stores_the_client(clock, front_desk):
    client = client_create(by=front_desk, **client_fields())
    client.refresh_from_db()
    assert client.full_name == "Mara Quinn"
    assert str(client.phone) == "+14155550134"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", date(2025, 6, 3)),
        ("date_of_birth", date(1905, 6, 1)),
        ("email", "mara.quinn@"),
        ("email", "not an email"),
        ("phone", "call me maybe"),
        ("phone", "+1 415 55"),
    ],
    ids=[
        "born-tomorrow",
        "over-120-years",
        "email-no-domain",
        "email-words",
        "phone-words",
        "phone-short",
    ],
)
def test_client_create_refuses_invalid_field(clock, front_desk, field, value):
    with pytest.raises(ValidationError) as caught:
        client_create(by=front_desk, **client_fields(**{field: value}))
    assert set(caught.value.message_dict) == {field}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", date(2025, 6, 3)),
        ("date_of_birth", date(1905, 6, 1)),
        ("email", "mara.quinn@"),
        ("phone", "call me maybe"),
    ],
    ids=["born-tomorrow", "over-120-years", "email", "phone"],
)
def test_client_update_refuses_invalid_field(clock, a_client, front_desk, field, value):
    with pytest.raises(ValidationError) as caught:
        client_update(client=a_client, by=front_desk, **{field: value})
    assert set(caught.value.message_dict) == {field}


@pytest.mark.parametrize(
    ("born", "valid"),
    [
        (date(2025, 6, 2), True),
        (date(2025, 6, 3), False),
        (date(1905, 6, 2), True),
        (date(1905, 6, 1), False),
    ],
    ids=["today", "tomorrow", "exactly-120-years", "a-day-over-120-years"],
)
def test_date_of_birth_must_be_within_120_years_and_not_future(clock, born, valid):
    if valid:
        validate_date_of_birth(born)
    else:
        with pytest.raises(ValidationError):
            validate_date_of_birth(born)


def test_date_of_birth_today_is_judged_in_clinic_time():
    # Already June 3rd in UTC, still June 2nd in Los Angeles: June 3rd is the future.
    with (
        time_machine.travel(datetime(2025, 6, 3, 3, 0, tzinfo=UTC), tick=False),
        pytest.raises(ValidationError) as caught,
    ):
        validate_date_of_birth(date(2025, 6, 3))
    assert caught.value.code == "future"


# Clients: history ---------------------------------------------------------------


def test_client_create_records_who_registered_the_client(clock, front_desk):
    client = client_create(by=front_desk, **client_fields())
    registered = client.history.get()
    assert registered.history_type == "+"
    assert registered.history_user == front_desk


def test_client_update_records_who_made_the_change(clock, front_desk, manager):
    client = client_create(by=front_desk, **client_fields())
    client_update(client=client, by=manager, email="mara@example.org")
    latest = client.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_user == manager
    assert latest.email == "mara@example.org"


def test_client_changes_lists_field_changes_newest_first(front_desk, manager):
    with time_machine.travel(datetime(2025, 5, 1, 17, 0, tzinfo=UTC), tick=False):
        client = client_create(by=front_desk, **client_fields())
    with time_machine.travel(datetime(2025, 5, 2, 17, 0, tzinfo=UTC), tick=False):
        client_update(client=client, by=front_desk, email="mara@example.org")
    with time_machine.travel(datetime(2025, 5, 3, 17, 0, tzinfo=UTC), tick=False):
        client_update(client=client, by=manager, last_name="Quinn-Hale", notes="Prefers mornings")

    changes = client_changes(client=client)

    assert [c.kind for c in changes] == ["Changed", "Changed", "Registered"]
    assert [c.at.date() for c in changes] == [date(2025, 5, 3), date(2025, 5, 2), date(2025, 5, 1)]
    assert [c.by for c in changes] == [str(manager), str(front_desk), str(front_desk)]
    assert sorted(changes[0].fields) == [
        ("Last name", "Quinn", "Quinn-Hale"),
        ("Notes", "—", "Prefers mornings"),
    ]
    assert changes[1].fields == [("Email", "mara.quinn@example.com", "mara@example.org")]
    assert changes[2].fields == []


def test_client_changes_respects_the_limit(clock, front_desk):
    client = client_create(by=front_desk, **client_fields())
    for n in range(3):
        client_update(client=client, by=front_desk, notes=f"Visit {n}")
    changes = client_changes(client=client, limit=2)
    assert len(changes) == 2
    assert changes[0].fields == [("Notes", "Visit 1", "Visit 2")]
    assert changes[1].fields == [("Notes", "Visit 0", "Visit 1")]


def test_client_update_without_changes_records_no_field_changes(clock, front_desk):
    client = client_create(by=front_desk, **client_fields())
    client_update(client=client, by=front_desk, email=client.email)
    assert client_changes(client=client)[0].fields == []


# Clients: search ----------------------------------------------------------------


@pytest.fixture
def directory(db):
    return {
        "mara": ClientFactory(
            first_name="Mara", last_name="Quinn", email="mq@example.com", phone="+14155550134"
        ),
        "marcus": ClientFactory(
            first_name="Marcus", last_name="Bell", email="bell@example.org", phone="+12125550199"
        ),
        "lena": ClientFactory(
            first_name="Lena", last_name="Marlowe", email="lena@studio.net", phone="+13105551234"
        ),
    }


def found(query, directory):
    names = {client.pk: name for name, client in directory.items()}
    return {names[client.pk] for client in client_search(query=query)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"mara", "marcus", "lena"}),
        ("Mara", {"mara"}),
        ("quinn", {"mara"}),
        ("MAR", {"mara", "marcus", "lena"}),
        ("bell@example", {"marcus"}),
        ("example.com", {"mara"}),
        ("555 0134", {"mara"}),
        ("555-0134", {"mara"}),
        ("(415) 555-0134", {"mara"}),
        ("0199", {"marcus"}),
        ("555", {"mara", "marcus", "lena"}),
        ("mar bell", {"marcus"}),
        ("lena marlowe", {"lena"}),
        ("mara bell", set()),
        ("nobody", set()),
    ],
    ids=[
        "empty-lists-all",
        "first-name",
        "last-name-lowercase",
        "uppercase-partial",
        "email",
        "email-domain",
        "phone-digits-spaced",
        "phone-digits-dashed",
        "phone-formatted",
        "phone-tail",
        "phone-exchange",
        "two-words-and",
        "first-and-last",
        "words-from-two-clients",
        "no-match",
    ],
)
def test_client_search_matches_every_word(directory, query, expected):
    assert found(query, directory) == expected
