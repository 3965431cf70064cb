"""Analytics → Review promise: each figure from requests with known answers, on the page, in its
table and in the CSV, with the filters kept in the URL."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from refunds.analytics import promise
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, Outcome, Status
from refunds.models import Decision
from tests.factories import (
    LeadFactory,
    MarketFactory,
    ProFactory,
    RefundRequestFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("analytics:page", args=["promise"])
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = NOW.date()


def made(
    submitted: datetime, took: timedelta | None, *, status=None, kind=DecisionKind.REVIEW, **lead
):
    """A request submitted at `submitted`, decided `took` later (None: still open)."""
    decided = submitted + took if took is not None else None
    request = RefundRequestFactory(
        lead=LeadFactory(**lead),
        submitted_at=submitted,
        due_at=submitted + timedelta(hours=24),
        status=status or (Status.CREDITED if decided else Status.SUBMITTED),
        decided_at=decided,
    )
    if decided is not None and status != Status.WITHDRAWN:
        Decision.objects.create(
            request=request, outcome=Outcome.APPROVED, kind=kind, decided_at=decided
        )
    return request


def period(days: int = 7, **kw) -> Period:
    return Period(DAY - timedelta(days=days - 1), DAY, **kw)


def section(page, title):
    return next(s for s in page.sections if s.title == title)


def figure(sec, label):
    return next(f for f in sec.figures if f.label.startswith(label))


def test_an_empty_period_has_no_share_and_a_row_per_day():
    page = promise.build(period(), NOW)
    first = section(page, "Decided within 24 hours")
    assert figure(first, "Decided within 24 hours").value == "—"
    assert figure(first, "Median").value == "—"
    table = page.table("promise_by_day")
    assert [row[0] for row in table.rows] == [
        (DAY - timedelta(days=6 - n)).isoformat() for n in range(7)
    ]
    assert all(row[1] == 0 for row in table.rows)


def test_decided_exactly_at_24_hours_is_in_time_a_second_later_is_not():
    day = NOW - timedelta(days=2)
    made(day, timedelta(hours=24))
    made(day, timedelta(hours=24, seconds=1))
    page = promise.build(period(), NOW)
    first = section(page, "Decided within 24 hours")
    assert figure(first, "Decided within 24 hours").value == "50%"
    row = next(r for r in page.table("promise_by_day").rows if r[0] == day.date().isoformat())
    assert row[1:4] == [2, 1, 50.0]


def test_what_is_counted_and_what_is_left_out():
    day = NOW - timedelta(days=1, hours=6)  # 30 hours ago
    made(day, timedelta(hours=2))  # in time
    made(day, None)  # open past 24 h: counted, late
    made(NOW - timedelta(hours=3), None)  # open, not yet due: not counted
    made(day, timedelta(hours=1), status=Status.WITHDRAWN)  # withdrawn: left out
    made(day, timedelta(0), kind=DecisionKind.AUTO_APPROVAL)  # automatic: left out
    made(NOW - timedelta(days=20), timedelta(hours=1))  # before the period
    first = section(promise.build(period(), NOW), "Decided within 24 hours")
    assert figure(first, "Decided within 24 hours").note == "1 of 2 requests"


def test_median_and_95th_percentile_are_nearest_rank():
    day = NOW - timedelta(days=3)
    for hours in (1, 2, 3, 4, 24):
        made(day, timedelta(hours=hours))
    page = promise.build(period(), NOW)
    first = section(page, "Decided within 24 hours")
    assert figure(first, "Median").value == "3.0 h"
    assert figure(first, "95th").value == "24.0 h"
    assert page.table("decision_time").rows == [[5, "3.0", "24.0"]]


def test_a_single_request():
    made(NOW - timedelta(days=1), timedelta(hours=5))
    page = promise.build(period(), NOW)
    assert page.table("decision_time").rows == [[1, "5.0", "5.0"]]


def test_open_requests_by_age_and_overdue_now():
    for hours in (1, 5, 13, 21, 30, 50):
        made(NOW - timedelta(hours=hours), None)
    page = promise.build(period(), NOW)
    assert page.table("open_by_age").rows == [
        ["0–4 h", 1],
        ["4–12 h", 1],
        ["12–20 h", 1],
        ["20–24 h", 1],
        ["over 24 h", 2],
    ]
    assert figure(section(page, "Open requests now, by age"), "Overdue").value == "2"


def test_the_market_filter_counts_only_that_market():
    austin = MarketFactory(name="Austin, TX")
    denver = MarketFactory(name="Denver, CO")
    day = NOW - timedelta(days=1)
    made(day, timedelta(hours=2), pro=ProFactory(profile__market=austin))
    made(day, timedelta(hours=30), pro=ProFactory(profile__market=denver))
    first = section(promise.build(period(market=denver), NOW), "Decided within 24 hours")
    assert figure(first, "Decided within 24 hours").note == "0 of 1 requests"


def test_with_a_market_the_days_are_its_local_days_even_where_rolled_up():
    """21:00 on June 6 in Denver is 03:00 on June 7 in UTC: the market's page counts it on
    June 6, the page for all markets on June 7, whether or not the days were rolled up."""
    from refunds.analytics import rollups

    denver = MarketFactory(name="Denver, CO", time_zone="America/Denver")
    made(
        datetime(2026, 6, 7, 3, 0, tzinfo=UTC),
        timedelta(hours=2),
        pro=ProFactory(profile__market=denver),
    )
    for built in (False, True):
        if built:
            rollups.rebuild(NOW)
            assert promise.rolled_up_days(period(), NOW)
        local = promise.build(period(market=denver), NOW).table("promise_by_day").rows
        everywhere = promise.build(period(), NOW).table("promise_by_day").rows
        assert [r[:3] for r in local if r[1]] == [["2026-06-06", 1, 1]]
        assert [r[:3] for r in everywhere if r[1]] == [["2026-06-07", 1, 1]]


# The page


@pytest.fixture
def rita(db):
    return StaffFactory(email="rita@example.test", roles=[Role.REVIEWER])


def test_the_page_shows_the_figures_the_table_and_the_chart(client_for, rita):
    made(timezone.now() - timedelta(days=2), timedelta(hours=3))
    page = client_for(rita).get(URL, {"range": "7"})
    assert page.status_code == 200
    html = page.text
    assert "Analytics: Review promise" in html
    assert "Decided within 24 hours" in html and "100%" in html
    assert '<svg class="rq-chart"' in html and "<title" in html
    assert "Download CSV" in html
    assert "range=7" in html  # the links keep the filters


def test_the_csv_has_the_same_figures_and_filters(client_for, rita):
    made(timezone.now() - timedelta(days=2), timedelta(hours=3))
    response = client_for(rita).get(URL, {"range": "7", "csv": "promise_by_day"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["day", "requests", "decided within 24 h"]
    assert len(rows) == 1 + 7
    assert sum(int(r[1]) for r in rows[1:]) == 1
    assert client_for(rita).get(URL, {"csv": "nothing"}).status_code == 404


def test_a_bad_period_is_said_on_the_page_and_the_last_30_days_shown(client_for, rita):
    response = client_for(rita).get(
        URL, {"range": "custom", "start": "2026-06-10", "end": "2026-06-01"}
    )
    assert response.status_code == 200
    assert "The period must start before it ends." in response.text
    assert len(response.context["page"].table("promise_by_day").rows) == 30


def test_support_sees_it_pros_and_other_staff_do_not(client_for, alice):
    support = StaffFactory(roles=[Role.SUPPORT])
    assert client_for(support).get(URL).status_code == 200
    assert client_for(StaffFactory()).get(URL).status_code == 403
    response = client_for(alice).get(URL)
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_the_index_opens_the_review_promise(client_for, rita):
    response = client_for(rita).get(reverse("analytics:index"))
    assert response.status_code == 200
    assert "Analytics: Review promise" in response.text


def test_with_no_filters_the_period_menu_shows_the_30_days_counted(client_for, rita):
    html = client_for(rita).get(URL).text
    assert '<option value="30" selected>Last 30 days</option>' in html
    assert '<option value="7" selected>' not in html


def test_hours_read_as_hours_on_the_page_and_as_numbers_in_the_csv(client_for, rita):
    made(timezone.now() - timedelta(days=2), timedelta(hours=3, minutes=15))
    html = client_for(rita).get(URL, {"range": "7"}).text
    assert "<td>3.25 h</td>" in html.replace("\n", "").replace("  ", "")
    response = client_for(rita).get(URL, {"range": "7", "csv": "decision_time"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["1", "3.25", "3.25"]
