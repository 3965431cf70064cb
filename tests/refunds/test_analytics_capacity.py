"""Analytics → Capacity: arrivals and decisions per hour of the week (UTC, or the market's
local time), decisions and handling time per reviewer, the automatic rules' share, and the
reviewer-hours the promise needs, each from requests with known answers, on the page, in its
table and in the CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from refunds.analytics import capacity
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, Outcome
from refunds.models import Decision, RefundEvent
from tests.factories import (
    LeadFactory,
    MarketFactory,
    ProFactory,
    RefundRequestFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("analytics:page", args=["capacity"])
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
DAY = NOW.date()
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def period(days: int = 7, **kw) -> Period:
    return Period(DAY - timedelta(days=days - 1), DAY, **kw)


def arrived(at: datetime, pro=None):
    return RefundRequestFactory(
        lead=LeadFactory(pro=pro) if pro else LeadFactory(), submitted_at=at
    )


def decided(request, at, *, by=None, kind=DecisionKind.REVIEW, outcome=Outcome.APPROVED, **kw):
    if outcome == Outcome.DENIED:
        kw |= {"explanation": "Not eligible.", "guidance": "Report only ineligible leads."}
    return Decision.objects.create(
        request=request, outcome=outcome, kind=kind, decided_by=by, decided_at=at, **kw
    )


def claim(request, reviewer, at):
    return RefundEvent.objects.create(
        request=request,
        actor=reviewer,
        action="claim",
        from_status="submitted",
        to_status="in_review",
        created_at=at,
    )


def handled(request, reviewer, claimed_at, took_minutes, **kw):
    """Claimed by `reviewer` at `claimed_at`, decided by them `took_minutes` later."""
    claim(request, reviewer, claimed_at)
    return decided(request, claimed_at + timedelta(minutes=took_minutes), by=reviewer, **kw)


def cell(table, weekday: int, hour: int):
    return table.rows[weekday][1 + hour]


def figure(page, label):
    return next(f for s in page.sections for f in s.figures if f.label.startswith(label))


@pytest.fixture
def pro(db):
    return ProFactory()


@pytest.fixture
def rita(db):
    return StaffFactory(
        email="rita@example.test", first_name="Rita", last_name="Reyes", roles=[Role.REVIEWER]
    )


@pytest.fixture
def ravi(db):
    return StaffFactory(
        email="ravi@example.test", first_name="Ravi", last_name="Rao", roles=[Role.REVIEWER]
    )


# Arrivals and decisions per hour of the week


def test_an_empty_period_has_every_cell_at_zero():
    page = capacity.build(period(), NOW)
    for name in ("arrivals_by_hour", "decisions_by_hour"):
        table = page.table(name)
        assert [row[0] for row in table.rows] == [*capacity.WEEKDAYS, "all days"]
        assert all(value == 0 for row in table.rows for value in row[1:])
        assert table.columns == ["weekday", *[f"{h:02d}" for h in range(24)], "total"]
    assert figure(page, "Busiest hour").value == "—"
    assert page.table("reviewers").rows == []
    assert page.table("automatic_by_rule").rows[-1] == ["all decisions", 0, ""]
    assert figure(page, "Reviewer time").value == "0 min"


def test_arrivals_land_in_their_utc_weekday_and_hour(pro):
    arrived(datetime(2026, 6, 8, 9, 30, tzinfo=UTC), pro)  # Monday 09:30
    arrived(datetime(2026, 6, 7, 23, 59, 59, tzinfo=UTC), pro)  # Sunday, last second
    arrived(datetime(2026, 6, 6, 0, 0, tzinfo=UTC), pro)  # Saturday, first second
    arrived(datetime(2026, 6, 10, 11, 0, tzinfo=UTC), pro)
    arrived(datetime(2026, 6, 10, 11, 59, tzinfo=UTC), pro)
    # 20:30 on Monday in Chicago is 01:30 on Tuesday in UTC.
    arrived(datetime(2026, 6, 8, 20, 30, tzinfo=ZoneInfo("America/Chicago")), pro)
    arrived(datetime(2026, 6, 3, 10, 0, tzinfo=UTC), pro)  # before the period
    page = capacity.build(period(), NOW)
    table = page.table("arrivals_by_hour")
    assert cell(table, MON, 9) == 1
    assert cell(table, SUN, 23) == 1
    assert cell(table, SAT, 0) == 1
    assert cell(table, WED, 11) == 2
    assert cell(table, TUE, 1) == 1
    assert table.rows[WED][-1] == 2
    assert table.rows[-1][-1] == 6  # all days, all hours
    assert table.rows[-1][1 + 11] == 2
    assert figure(page, "Requests arrived").value == "6"
    assert figure(page, "Busiest hour").value == "Wed 11:00"


def test_a_single_request(pro, rita):
    request = arrived(datetime(2026, 6, 9, 8, 0, tzinfo=UTC), pro)
    handled(request, rita, datetime(2026, 6, 9, 14, 0, tzinfo=UTC), 5)
    page = capacity.build(period(), NOW)
    assert cell(page.table("arrivals_by_hour"), TUE, 8) == 1
    assert cell(page.table("decisions_by_hour"), TUE, 14) == 1
    assert page.table("reviewers").rows == [
        ["Rita Reyes", 1, 1, 0, 1, 5.0],
        ["all reviewers", 1, 1, 0, 1, 5.0],
    ]
    assert figure(page, "Median handling time").value == "5.0 min"


def test_decisions_per_hour_count_only_reviewers_standing_decisions(pro, rita):
    at = datetime(2026, 6, 9, 14, 5, tzinfo=UTC)  # Tuesday
    decided(arrived(at - timedelta(hours=3), pro), at, by=rita)
    decided(arrived(at, pro), at, kind=DecisionKind.AUTO_APPROVAL, rule="duplicate")
    decided(arrived(at, pro), at, kind=DecisionKind.AUTOMATIC, outcome=Outcome.DENIED)
    decided(arrived(at, pro), at, by=rita, undone_at=at + timedelta(seconds=30))
    decided(arrived(at, pro), at, by=StaffFactory(), kind=DecisionKind.DISPUTE)
    table = capacity.build(period(), NOW).table("decisions_by_hour")
    assert cell(table, TUE, 14) == 1
    assert table.rows[-1][-1] == 1


# Reviewers and their handling time


def test_handling_time_runs_from_the_reviewers_own_last_claim(pro, rita, ravi):
    t = datetime(2026, 6, 9, 10, 0, tzinfo=UTC)
    a = arrived(t - timedelta(hours=2), pro)
    claim(a, rita, t - timedelta(minutes=60))  # an earlier claim that ran out
    handled(a, rita, t - timedelta(minutes=2), 2)  # 2 minutes from the last claim
    b = arrived(t, pro)
    handled(b, rita, t, 6)
    claim(b, rita, t + timedelta(minutes=30))  # after the decision: not counted
    handled(arrived(t, pro), rita, t, 10)
    handled(arrived(t, pro), rita, t, 20)
    d = arrived(t, pro)
    claim(d, ravi, t)  # someone else's claim is not Rita's handling
    decided(d, t + timedelta(minutes=3), by=rita)
    handled(arrived(t, pro), ravi, t, 4, outcome=Outcome.DENIED)
    page = capacity.build(period(), NOW)
    # Rita: 2, 6, 10 and 20 minutes; the nearest-rank median of four is the second.
    assert page.table("reviewers").rows == [
        ["Rita Reyes", 5, 5, 0, 4, 6.0],
        ["Ravi Rao", 1, 0, 1, 1, 4.0],
        ["all reviewers", 6, 5, 1, 5, 6.0],
    ]
    assert figure(page, "Reviewers deciding").value == "2"
    assert figure(page, "Median handling time").note.endswith("5 decisions after a claim")


# The automatic rules' share


def test_automatic_decisions_share_by_rule_over_all_standing_decisions(pro, rita):
    at = NOW - timedelta(days=1)
    for rule in ("duplicate", "duplicate", "outside_services"):
        decided(arrived(at, pro), at, kind=DecisionKind.AUTO_APPROVAL, rule=rule)
    decided(arrived(at, pro), at, kind=DecisionKind.AUTOMATIC, outcome=Outcome.DENIED)
    for _ in range(4):
        decided(arrived(at, pro), at, by=rita)
    decided(arrived(at, pro), at, by=rita, undone_at=at)  # taken back: not counted
    decided(arrived(at, pro), at, by=StaffFactory(), kind=DecisionKind.DISPUTE)
    decided(arrived(at, pro), NOW - timedelta(days=9), by=rita)  # before the period
    page = capacity.build(period(), NOW)
    assert page.table("automatic_by_rule").rows == [
        ["Automatic approval: Duplicate lead", 2, 22.2],
        ["Automatic approval: Outside the pro's services", 1, 11.1],
        ["Automatic approval: Unreachable contact", 0, 0.0],
        ["Automatic denial: peer refund rate", 1, 11.1],
        ["Reviewers", 4, 44.4],
        ["Support, answering a dispute", 1, 11.1],
        ["all decisions", 9, 100.0],
    ]
    shown = figure(page, "Decided automatically")
    assert (shown.value, shown.note) == ("44%", "4 of 9 decisions")


# The reviewer-hours the promise needs


def four_weeks_of_arrivals(pro, rita):
    """56 requests in the 28 days before NOW (32 on Mondays), 14 decided automatically, and
    three reviewers' decisions after a claim taking 4, 8 and 12 minutes."""
    requests = [arrived(NOW - timedelta(days=d, hours=1), pro) for d in range(28)]
    for month, day in ((5, 18), (5, 25), (6, 1), (6, 8)):  # the four Mondays
        at = datetime(2026, month, day, 9, 0, tzinfo=UTC)
        requests += [arrived(at, pro) for _ in range(7)]
    for n, request in enumerate(requests[:14]):
        kind = DecisionKind.AUTOMATIC if n % 2 else DecisionKind.AUTO_APPROVAL
        outcome = Outcome.DENIED if n % 2 else Outcome.APPROVED
        decided(request, request.submitted_at, kind=kind, outcome=outcome, rule="duplicate")
    undone = requests[14]  # an automatic decision taken back does not count
    decided(undone, undone.submitted_at, kind=DecisionKind.AUTO_APPROVAL, undone_at=NOW)
    for request, took in zip(requests[20:23], (4, 8, 12), strict=True):
        handled(request, rita, request.submitted_at + timedelta(minutes=30), took)
    arrived(NOW - timedelta(days=28, minutes=1), pro)  # just before the four weeks


def test_reviewer_hours_are_worked_out_in_the_open(pro, rita):
    four_weeks_of_arrivals(pro, rita)
    page = capacity.build(period(), NOW)
    shown = figure(page, "Reviewer time")
    assert shown.value == "12 min"
    assert shown.note == (
        "56 requests in 28 days = 2.0 a day; minus 25% decided automatically = 1.5 for people; "
        "× 8.0 min median handling = 12 min = 0.2 reviewer-hours a day. On Mondays, the busiest "
        "weekday (32 in 4 weeks = 8.0 a day): 0.8 reviewer-hours."
    )
    assert page.table("reviewer_hours").rows == [
        ["requests arrived in 28 days", 56, "May 13 12:00 – Jun 10 12:00 UTC"],
        ["requests a day", 2.0, "56 ÷ 28"],
        ["decided automatically %", 25.0, "14 of 56"],
        ["requests a day for people", 1.5, "(56 − 14) ÷ 28"],
        [
            "median handling minutes",
            8.0,
            "claim to decision: the median of the 3 decisions reviewers made after claiming, "
            "in the same 28 days",
        ],
        ["reviewer-minutes a day", 12, "1.5 × 8.0"],
        ["reviewer-hours a day", 0.2, "12 ÷ 60"],
        ["reviewer-hours on Mondays (busiest)", 0.8, "32 ÷ 4 × (1 − 25%) × 8.0 ÷ 60"],
    ]


def test_an_hour_or_more_is_shown_in_hours(pro, rita):
    requests = [arrived(NOW - timedelta(days=d, hours=1), pro) for d in range(28)]
    for request, took in zip(requests[:3], (60, 90, 120), strict=True):
        handled(request, rita, request.submitted_at, took)
    shown = figure(capacity.build(period(), NOW), "Reviewer time")
    assert shown.value == "1.5 h"
    assert "× 90.0 min median handling = 90 min = 1.5 reviewer-hours a day" in shown.note


def test_without_a_claimed_decision_the_page_says_why_there_is_no_figure(pro):
    arrived(NOW - timedelta(days=2), pro)
    shown = figure(capacity.build(period(), NOW), "Reviewer time")
    assert shown.value == "—"
    assert shown.note.startswith("1 requests in 28 days = 0.0 a day;")
    assert "no handling time to multiply by" in shown.note


def test_the_market_filter_applies_to_every_figure(rita):
    austin = ProFactory(profile__market=MarketFactory(name="Austin, TX"))
    denver_market = MarketFactory(name="Denver, CO")
    denver = ProFactory(profile__market=denver_market)
    at = NOW - timedelta(days=1)
    handled(arrived(at, austin), rita, at, 3)
    decided(arrived(at, austin), at, kind=DecisionKind.AUTO_APPROVAL, rule="duplicate")
    handled(arrived(at, denver), rita, at, 7)
    page = capacity.build(period(market=denver_market), NOW)
    assert page.table("arrivals_by_hour").rows[-1][-1] == 1
    assert page.table("decisions_by_hour").rows[-1][-1] == 1
    assert page.table("reviewers").rows[-1] == ["all reviewers", 1, 1, 0, 1, 7.0]
    assert page.table("automatic_by_rule").rows[-1] == ["all decisions", 1, 100.0]
    assert page.table("reviewer_hours").rows[0][1] == 1


# The page


def test_the_page_shows_the_heatmaps_and_the_csv_has_the_same_figures(client_for, rita, pro):
    now = timezone.now()
    submitted = now - timedelta(days=2)
    handled(arrived(submitted, pro), rita, submitted + timedelta(hours=1), 5)
    client = client_for(rita)
    response = client.get(URL, {"range": "7"})
    assert response.status_code == 200
    html = response.text
    assert "Analytics: Capacity" in html
    assert html.count('<svg class="rq-chart"') >= 3
    assert "Hour of the day (UTC)" in html and "blank = 0" in html
    table = response.context["page"].table("arrivals_by_hour")
    weekday = submitted.isoweekday() - 1
    assert cell(table, weekday, submitted.hour) == 1
    for name in ("arrivals_by_hour", "decisions_by_hour", "reviewers", "reviewer_hours"):
        shown = response.context["page"].table(name)
        download = client.get(URL, {"range": "7", "csv": name})
        assert download["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(download.content.decode())))
        assert rows[0] == shown.columns
        assert rows[1:] == [[str(value) for value in row] for row in shown.rows]
    reviewers = response.context["page"].table("reviewers")
    assert reviewers.rows[0] == ["Rita Reyes", 1, 1, 0, 1, 5.0]


def test_every_table_on_the_page_has_its_own_csv_name():
    page = capacity.build(period(), NOW)
    names = [table.name for section in page.sections for table in section.tables]
    assert len(names) == len(set(names))


def test_pros_may_not_see_it(client_for, alice):
    response = client_for(alice).get(URL)
    assert response.status_code == 302 and "/admin/login/" in response.url


# With a market chosen, its local time


def test_with_a_market_the_hours_are_its_local_hours(client_for, rita):
    denver = MarketFactory(name="Denver, CO", time_zone="America/Denver")
    pro = ProFactory(profile__market=denver)
    # 01:30 UTC on Tuesday is 19:30 on Monday in Denver (MDT, UTC-6).
    arrived(datetime(2026, 6, 9, 1, 30, tzinfo=UTC), pro)
    local = capacity.build(period(market=denver), NOW).table("arrivals_by_hour")
    assert cell(local, MON, 19) == 1 and cell(local, TUE, 1) == 0
    everywhere = capacity.build(period(), NOW).table("arrivals_by_hour")
    assert cell(everywhere, TUE, 1) == 1 and cell(everywhere, MON, 19) == 0
    assert local.title == "Requests arriving per weekday and hour (America/Denver)"
    html = client_for(rita).get(URL, {"range": "7", "market": denver.pk}).text
    assert "Hour of the day (America/Denver)" in html
    assert "Days and hours are the market's local time (America/Denver)." in html
    html = client_for(rita).get(URL, {"range": "7"}).text
    assert "Days and hours are counted in UTC" in html


def test_with_a_market_the_period_is_its_local_days(rita):
    """Denver's last 7 days end on Denver's today: at 02:00 UTC on June 11 it is still June 10
    there, and the period's first moment is Denver's midnight."""
    from refunds.analytics.period import period_from

    denver = MarketFactory(name="Denver, CO", time_zone="America/Denver")
    late = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)
    local, _ = period_from({"range": "7", "market": denver.pk}, late)
    assert (local.first, local.last) == (DAY - timedelta(days=6), DAY)
    assert local.start == datetime(2026, 6, 4, 6, 0, tzinfo=UTC)
    assert local.label == "Jun 4, 2026 – Jun 10, 2026 (America/Denver days)"
    utc, _ = period_from({"range": "7"}, late)
    assert utc.last == DAY + timedelta(days=1) and utc.start == datetime(2026, 6, 5, tzinfo=UTC)
