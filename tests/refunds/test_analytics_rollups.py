"""The Review promise page's daily roll-ups: the page reads them for closed-out days and gives
the same tables as counting every day live; manage.py rebuild_rollups and the worker's schedule
keep them, rebuilding a day twice gives the same rows, and a late change to an old day is
counted at the next run."""

import importlib
import pydoc
import random
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from accounts.choices import Role
from refunds import services, tasks
from refunds.analytics import promise, rollups
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, Outcome, Status
from refunds.models import Decision, DecisionTimeRollup, PromiseRollup, RollupDay
from tests.factories import (
    LeadFactory,
    MarketFactory,
    ProFactory,
    RefundRequestFactory,
    ServiceCategoryFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
rollups_migration = importlib.import_module("refunds.migrations.0015_rollups")


def made(submitted: datetime, took: timedelta | None, *, pro, category=None, **kw):
    """A request submitted at `submitted`, decided `took` later (None: still open)."""
    decided = submitted + took if took is not None else None
    status = kw.pop("status", None) or (Status.CREDITED if decided else Status.SUBMITTED)
    kind = kw.pop("kind", DecisionKind.REVIEW)
    lead = LeadFactory(pro=pro, **({"category": category} if category else {}))
    request = RefundRequestFactory(
        lead=lead,
        submitted_at=submitted,
        due_at=submitted + timedelta(hours=24),
        status=status,
        decided_at=decided,
    )
    if decided is not None and status != Status.WITHDRAWN:
        Decision.objects.create(
            request=request, outcome=Outcome.APPROVED, kind=kind, decided_at=decided
        )
    return request


def period(days: int = 30, **kw) -> Period:
    return Period(TODAY - timedelta(days=days - 1), TODAY, **kw)


def tables(page) -> dict:
    figures = {f.label: (f.value, f.note) for s in page.sections for f in s.figures}
    rows = {t.name: t.rows for s in page.sections for t in s.tables}
    return {"figures": figures, "tables": rows}


@pytest.fixture
def history():
    """Three weeks of requests in two markets and two categories, decided at every speed,
    some late, some open, some withdrawn or decided by a rule, up to this morning."""
    rng = random.Random(14)
    austin, denver = MarketFactory(name="Austin, TX"), MarketFactory(name="Denver, CO")
    plumbing = ServiceCategoryFactory(name="Plumbing")
    roofing = ServiceCategoryFactory(name="Roofing")
    pros = [ProFactory(profile__market=m) for m in (austin, denver, austin)]
    for n in range(120):
        submitted = NOW - timedelta(minutes=rng.randrange(1, 21 * 24 * 60), seconds=rng.random())
        took = rng.choice(
            [
                timedelta(minutes=rng.randrange(0, 1440), seconds=rng.randrange(60)),
                timedelta(hours=24),  # exactly on time
                timedelta(hours=rng.randrange(25, 60)),  # late
                None,  # still open
            ]
        )
        if took is not None and submitted + took > NOW:
            took = None
        extra = {}
        if n % 17 == 0:
            extra["status"] = Status.WITHDRAWN
        elif n % 13 == 0 and took is not None:
            extra["kind"] = DecisionKind.AUTO_APPROVAL
        made(
            submitted,
            took,
            pro=pros[n % 3],
            category=plumbing if n % 2 else roofing,
            **extra,
        )
    return {"austin": austin, "denver": denver, "plumbing": plumbing, "roofing": roofing}


def test_the_page_from_roll_ups_equals_the_page_counted_live(history):
    views = [
        period(30),
        period(7),
        period(30, market=history["denver"]),
        period(30, category=history["plumbing"]),
        period(30, market=history["austin"], category=history["roofing"]),
    ]
    live = [tables(promise.build(view, NOW)) for view in views]
    assert not RollupDay.objects.exists()
    assert live[0]["figures"]["Decided within 24 hours"][1] != "0 of 0 requests"

    built = rollups.rebuild(NOW)

    assert built[-1] == TODAY - timedelta(days=2)  # yesterday and today stay live
    assert promise.rolled_up_days(views[0], NOW) == set(built)
    assert [tables(promise.build(view, NOW)) for view in views] == live


def test_the_page_reads_the_roll_ups_for_closed_days(history):
    rollups.rebuild(NOW)
    before = tables(promise.build(period(), NOW))
    # A change behind the services' back (no event) is not seen until the day is rebuilt.
    old = TODAY - timedelta(days=5)
    PromiseRollup.objects.filter(day=old).update(requests=0, within_24h=0, within_window=0)
    after = tables(promise.build(period(), NOW))
    row = next(r for r in after["tables"]["promise_by_day"] if r[0] == old.isoformat())
    assert row[1:3] == [0, 0]
    call_command("rebuild_rollups", since=old.isoformat(), verbosity=0)
    assert tables(promise.build(period(), NOW)) == before


def test_building_a_day_twice_gives_the_same_rows(history):
    def rows():
        promise_rows = PromiseRollup.objects.order_by(
            "day", "total", "market", "category"
        ).values_list(
            "day",
            "total",
            "market",
            "category",
            "requests",
            "within_24h",
            "within_window",
            "decided",
        )
        times = DecisionTimeRollup.objects.order_by(
            "day", "total", "market", "category", "minutes"
        ).values_list("day", "total", "market", "category", "minutes", "requests")
        return list(promise_rows), list(times)

    rollups.rebuild(NOW)
    first = rows()
    assert first[0] and first[1]
    rollups.rebuild(NOW, since=TODAY - timedelta(days=40))
    assert rows() == first


def test_a_day_with_nothing_has_its_marker_and_no_rows(history):
    empty = TODAY - timedelta(days=30)
    rollups.rebuild(NOW, since=empty)
    assert RollupDay.objects.filter(day=empty).exists()
    assert not PromiseRollup.objects.filter(day=empty).exists()
    assert not DecisionTimeRollup.objects.filter(day=empty).exists()


def test_decided_exactly_at_24_hours_from_roll_ups():
    pro = ProFactory()
    day = NOW - timedelta(days=3)
    made(day, timedelta(hours=24), pro=pro)
    made(day, timedelta(hours=24, seconds=1), pro=pro)
    rollups.rebuild(NOW)
    assert promise.rolled_up_days(period(7), NOW) == {TODAY - timedelta(days=n) for n in (2, 3)}
    page = promise.build(period(7), NOW)
    row = next(r for r in page.table("promise_by_day").rows if r[0] == day.date().isoformat())
    assert row[1:4] == [2, 1, 50.0]
    assert page.table("decision_time").rows == [[2, "24.0", "24.0"]]


def test_an_empty_range_from_roll_ups():
    rollups.rebuild(NOW, since=TODAY - timedelta(days=10))
    page = promise.build(period(7), NOW)
    assert all(row[1] == 0 for row in page.table("promise_by_day").rows)
    assert page.table("decision_time").rows == [[0, "", ""]]


def test_yesterday_and_today_are_not_rolled_up():
    made(NOW - timedelta(hours=30), None, pro=ProFactory())  # yesterday, open past 24 h
    rollups.rebuild(NOW, since=TODAY - timedelta(days=3))
    assert not RollupDay.objects.filter(day__gte=TODAY - timedelta(days=1)).exists()
    row = promise.build(period(7), NOW).table("promise_by_day").rows[-2]
    assert row[:3] == [(TODAY - timedelta(days=1)).isoformat(), 1, 0]


def test_a_late_decision_on_an_old_day_is_counted_at_the_next_run():
    rita = StaffFactory(roles=[Role.REVIEWER])
    old = NOW - timedelta(days=6)
    request = made(old, None, pro=ProFactory())
    rollups.rebuild(NOW)
    assert promise.build(period(7), NOW).table("decision_time").rows == [[0, "", ""]]

    later = NOW + timedelta(hours=1)
    services.approve(reviewer=rita, request_id=request.pk, now=later)
    assert rollups.rebuild(later + timedelta(minutes=30)) == [old.date()]

    page = promise.build(period(7), later + timedelta(minutes=30))
    assert page.table("decision_time").rows == [[1, "145.0", "145.0"]]
    row = next(r for r in page.table("promise_by_day").rows if r[0] == old.date().isoformat())
    assert row[1:3] == [1, 0]  # counted, and late


def test_a_withdrawal_on_an_old_day_is_counted_at_the_next_run():
    pro = ProFactory()
    old = NOW - timedelta(days=4)
    request = made(old, None, pro=pro)
    rollups.rebuild(NOW)
    services.withdraw(pro=pro, request_id=request.pk)
    rollups.rebuild(NOW + timedelta(hours=1))
    row = next(
        r
        for r in promise.build(period(7), NOW).table("promise_by_day").rows
        if r[0] == old.date().isoformat()
    )
    assert row[1] == 0


def test_the_command_rebuilds_from_since_and_says_so(history):
    out = StringIO()
    call_command("rebuild_rollups", since="2026-01-01", stdout=out)
    assert "Rebuilt" in out.getvalue()
    assert RollupDay.objects.filter(day=date(2026, 1, 1)).exists()


def test_the_command_refuses_a_malformed_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_rollups", since="June 1")


def test_the_worker_task_is_scheduled_every_30_minutes():
    [(name, func, minutes)] = rollups_migration.SCHEDULES
    schedule = Schedule.objects.get(name=name)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "refunds.tasks.rebuild_rollups",
        Schedule.MINUTES,
        30,
        -1,
    )
    assert pydoc.locate(func) is tasks.rebuild_rollups


def test_the_task_builds_the_closed_out_days(history):
    assert tasks.rebuild_rollups() > 0
    assert RollupDay.objects.exists()
    assert tasks.rebuild_rollups() == 0  # nothing new since


def test_decision_times_are_rounded_down_to_the_quarter_hour_live_and_rolled_up():
    pro = ProFactory()
    day = NOW - timedelta(days=4)
    for took in (
        timedelta(hours=3, minutes=29, seconds=59),  # 3.25 h
        timedelta(hours=3, minutes=30),  # 3.5 h
        timedelta(hours=24, minutes=14),  # 24.0 h, and late
    ):
        made(day, took, pro=pro)
    live = promise.build(period(7), NOW)
    assert live.table("decision_time").rows == [[3, "3.5", "24.0"]]
    rollups.rebuild(NOW)
    assert sorted(
        DecisionTimeRollup.objects.filter(total=True).values_list("minutes", "requests")
    ) == [(195, 1), (210, 1), (1440, 1)]
    rolled = promise.build(period(7), NOW)
    assert tables(rolled) == tables(live)
    row = next(r for r in rolled.table("promise_by_day").rows if r[0] == day.date().isoformat())
    assert row[1:3] == [3, 2]
