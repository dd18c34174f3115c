"""GET /api/sessions/: stored in UTC, filtered by clinic-local day, client and esthetician."""

from datetime import date, datetime

import pytest
import time_machine

from tests.factories import SessionFactory
from tests.sessions_app.helpers import LA, at

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 20, 9, 0, tzinfo=LA)
SUNDAY = date(2027, 3, 14)  # spring forward: a 23-hour day


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def ids(response) -> set[int]:
    assert response.status_code == 200
    return {s["id"] for s in response.json()["results"]}


def test_date_filter_takes_the_clinic_day_not_the_utc_day(api_est):
    late = SessionFactory(start=at(date(2027, 3, 1), "20:00"))  # 04:00 UTC on 2 March
    SessionFactory(start=at(date(2027, 3, 2), "10:00"))

    response = api_est.get("/api/sessions/", {"date": "2027-03-01"})

    assert ids(response) == {late.pk}


def test_date_filter_on_a_daylight_saving_day_covers_the_whole_local_day(api_est):
    morning = SessionFactory(start=at(SUNDAY, "09:00"))
    evening = SessionFactory(start=at(SUNDAY, "23:15"))
    SessionFactory(start=at(date(2027, 3, 15), "00:15"))

    response = api_est.get("/api/sessions/", {"date": SUNDAY.isoformat()})

    assert ids(response) == {morning.pk, evening.pk}


@pytest.mark.parametrize("field", ["client", "esthetician"])
def test_sessions_filter_by_client_and_esthetician(api_est, field):
    wanted = SessionFactory(start=at(date(2027, 3, 1), "10:00"))
    SessionFactory(start=at(date(2027, 3, 1), "10:00"))

    response = api_est.get("/api/sessions/", {field: getattr(wanted, field).pk})

    assert ids(response) == {wanted.pk}
