"""Times in the reader's zone with its name: a pro's market's, a staff member's own. The report
window and the review clock are instants; only how they are written changes, across DST too."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.templatetags.local_time import elsewhere, when
from refunds import notices
from refunds.choices import Status
from tests.factories import LeadFactory, RefundRequestFactory, StaffFactory

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


def in_chicago(pro) -> None:
    market = pro.pro_profile.market
    market.time_zone = "America/Chicago"
    market.save()


@pytest.mark.parametrize(
    "submitted, before, after",
    [
        # DST starts on 2026-03-08 at 2 AM: the due time is 24 hours later, an hour later on
        # the wall clock.
        (datetime(2026, 3, 7, 20, 0, tzinfo=UTC), "Mar 7, 2:00 PM CST", "Mar 8, 3:00 PM CDT"),
        # DST ends on 2026-11-01 at 2 AM: an hour earlier on the wall clock.
        (datetime(2026, 10, 31, 17, 0, tzinfo=UTC), "Oct 31, 12:00 PM CDT", "Nov 1, 11:00 AM CST"),
    ],
)
def test_the_review_clock_is_an_instant_across_a_daylight_saving_change(submitted, before, after):
    due = submitted + timedelta(hours=24)
    with timezone.override(CHICAGO):
        assert when(submitted) == before
        assert when(due) == after
    assert (due - submitted).total_seconds() == 24 * 3600


def test_a_pro_reads_their_markets_zone_on_their_pages(client_for, alice):
    in_chicago(alice)
    lead = LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=1))
    request = RefundRequestFactory(lead=lead, status=Status.SUBMITTED)
    html = client_for(alice).get(reverse("lead_thread", args=[lead.pk])).text
    due = timezone.localtime(request.due_at, CHICAGO)
    abbreviation = due.tzname()
    assert abbreviation in ("CST", "CDT")
    assert f"decision expected by {due:%b} {due.day}, {due:%-I:%M %p} {abbreviation}" in html


def test_staff_read_their_own_zone_and_the_pros_beside_it(client_for, alice):
    in_chicago(alice)
    rita = StaffFactory(roles=[Role.REVIEWER], time_zone="Europe/London")
    received = datetime(2026, 1, 15, 15, 5, tzinfo=UTC)
    lead = LeadFactory(pro=alice, received_at=received)
    request = RefundRequestFactory(lead=lead, status=Status.SUBMITTED)
    page = client_for(rita).get(reverse("admin:refunds_refundrequest_change", args=[request.pk]))
    assert "Jan 15, 3:05 PM GMT" in page.text
    assert "(9:05 AM CST there)" in page.text


def test_the_same_clock_is_not_repeated():
    with timezone.override(CHICAGO):
        assert elsewhere(datetime(2026, 1, 15, 15, 5, tzinfo=UTC), "America/Chicago") == ""


def test_visitors_and_staff_without_a_preference_read_the_sites_zone(client_for):
    sam = StaffFactory(roles=[Role.SUPPORT])
    client_for(sam).get(reverse("admin:index"))
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request


def test_a_zone_must_be_an_iana_name(market):
    market.time_zone = "Central Time"
    with pytest.raises(ValidationError, match="IANA"):
        market.full_clean()
    market.time_zone = "America/Chicago"
    market.full_clean()


def test_notices_write_dates_in_the_pros_zone(alice):
    in_chicago(alice)
    # 3 AM UTC on March 1 is still February 28 in Chicago.
    lead = LeadFactory(pro=alice, received_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    request = RefundRequestFactory(lead=lead)
    assert "(received Feb 28, 2026)" in notices._lead_line(request)
