"""/metrics: Prometheus's text format behind METRICS_TOKEN; the work's numbers counted from the
database at each scrape, in the same few queries however much work there is and however much
history lies behind it."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Task
from django_q.tasks import async_task

from refunds import services
from refunds.choices import CreditStatus, DecisionKind, DisputeStatus, Outcome, Status
from refunds.models import Credit, Decision, Dispute
from refunds.services.core import create_decision
from tests.factories import RefundRequestFactory
from tests.ops.scrape import TOKEN, names, samples, scrape
from tests.refunds.staff_flows import submitted

pytestmark = pytest.mark.django_db

# Open requests, disputes, stuck credits, decisions, the heartbeat, the broker's queue and the
# failed tasks: one query each, and nothing else (the token is no session).
METRICS_QUERIES = 7
NOWHERE = "redis://127.0.0.1:1"


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


# Who may scrape


def test_there_is_no_such_page_without_a_token_set(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert scrape(client).status_code == 404
    assert scrape(client, token="").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN],
)
def test_a_missing_or_wrong_token_is_refused(client, metrics_token, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"refunds_" not in response.content


def test_the_right_token_gets_prometheus_text(client, metrics_token):
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"bearer  {TOKEN} ").status_code == 200


def test_a_signed_in_session_is_not_the_token(client_for, root, metrics_token):
    assert client_for(root).get("/metrics").status_code == 401


# The process: requests by view and status, database queries


def test_requests_and_queries_are_counted(client, metrics_token, alice):
    before = samples(scrape(client))
    client.get("/login/")
    client.get("/no-such-page/")
    after = samples(scrape(client))

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    responses = "django_http_responses_total_by_status_view_method_total"
    assert grew(responses, status="200", view="login", method="GET") == 1
    assert grew(responses, status="404", view="<unnamed view>", method="GET") == 1
    # The first scrape is counted once it has answered.
    assert grew(responses, status="200", view="metrics", method="GET") == 1
    latency = "django_http_requests_latency_seconds_by_view_method_count"
    assert grew(latency, view="login", method="GET") == 1
    vendor = {"alias": "default", "vendor": settings.DATABASES["default"]["ENGINE"].split(".")[-1]}
    vendor["vendor"] = {"sqlite3": "sqlite"}.get(vendor["vendor"], vendor["vendor"])
    assert grew("django_db_execute_total", **vendor) >= METRICS_QUERIES


# The work


@pytest.fixture
def work(alice, bob, rita):
    """A little of everything the gauges count, with what each should say."""
    now = timezone.now()

    def request(hours_left: float, **kwargs):
        due = now + timedelta(hours=hours_left)
        return RefundRequestFactory(
            lead__pro=alice, submitted_at=due - timedelta(hours=24), due_at=due, **kwargs
        )

    request(-2)  # overdue, and the oldest open one: submitted 26 hours ago
    request(3)  # due within 4 hours
    request(3.5, status=Status.IN_REVIEW, claimed_by=rita, claimed_until=now)
    request(20)
    request(-30, status=Status.CREDITED)  # decided: not open

    def dispute(hours_ago: float, status=DisputeStatus.OPEN) -> Dispute:
        return Dispute.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.DISPUTED),
            message="The customer wanted a roof.",
            opened_at=now - timedelta(hours=hours_ago),
            due_at=now + timedelta(hours=48 - hours_ago),
            status=status,
        )

    dispute(5)
    dispute(1)
    dispute(60, status=DisputeStatus.UPHELD)

    def credit(attempts: int, status=CreditStatus.PENDING) -> Credit:
        return Credit.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.REVIEWED),
            amount=Decimal("24.50"),
            method="balance",
            status=status,
            attempts=attempts,
        )

    credit(settings.CREDIT_MAX_ATTEMPTS)
    credit(1)
    credit(settings.CREDIT_MAX_ATTEMPTS + 2, status=CreditStatus.POSTED)

    def decision(outcome: str, kind: str, **kwargs) -> Decision:
        # As the services record one (tests/refunds/test_decision_tally.py takes every road).
        return create_decision(
            request=RefundRequestFactory(lead__pro=bob, status=Status.REVIEWED),
            outcome=outcome,
            kind=kind,
            explanation="Because." if outcome == Outcome.DENIED else "",
            guidance="Next time." if outcome == Outcome.DENIED else "",
            **kwargs,
        )

    decision(Outcome.APPROVED, DecisionKind.REVIEW)
    decision(Outcome.APPROVED, DecisionKind.REVIEW, undone_at=now)  # undone: still counted
    decision(Outcome.DENIED, DecisionKind.REVIEW)
    decision(Outcome.APPROVED, DecisionKind.AUTO_APPROVAL)
    decision(Outcome.DENIED, DecisionKind.AUTOMATIC)

    services.record_heartbeat(now=now - timedelta(seconds=42))
    return now


def queue_tasks(monkeypatch, count: int) -> None:
    """Tasks waiting in the broker: queued, not run (the tests' queue is synchronous)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    for _ in range(count):
        async_task("refunds.tasks.expire_claims")
    monkeypatch.setattr(Conf, "SYNC", True)


def task_result(name: str, success: bool) -> Task:
    now = timezone.now()
    return Task.objects.create(
        id=name,
        name=name,
        func="refunds.tasks.post_credit",
        started=now - timedelta(seconds=1),
        stopped=now,
        success=success,
    )


def test_the_gauges_count_the_work(client, metrics_token, work, monkeypatch):
    queue_tasks(monkeypatch, 2)
    task_result("failed-once", success=False)
    task_result("went-well", success=True)

    found = samples(scrape(client))
    elapsed = (timezone.now() - work).total_seconds()  # since the data set was made

    assert value(found, "refunds_open_requests") == 4
    assert value(found, "refunds_overdue_requests") == 1
    assert value(found, "refunds_due_within_4h_requests") == 2
    assert (
        26 * 3600
        <= value(found, "refunds_oldest_open_request_age_seconds")
        <= (26 * 3600 + elapsed)
    )
    assert value(found, "refunds_disputes_waiting") == 2
    assert 5 * 3600 <= value(found, "refunds_oldest_dispute_age_seconds") <= 5 * 3600 + elapsed
    assert value(found, "refunds_credits_needing_person") == 1
    assert 42 <= value(found, "refunds_worker_heartbeat_age_seconds") <= 42 + elapsed
    assert value(found, "refunds_worker_queued_tasks") == 2
    assert value(found, "refunds_worker_failed_tasks") == 1

    decisions = {
        dict(labels)["outcome"] + " " + dict(labels)["kind"]: count
        for (name, labels), count in found.items()
        if name == "refunds_decisions_total"
    }
    assert decisions == {
        "approved review": 2,
        "denied review": 1,
        "approved auto_approval": 1,
        "denied automatic": 1,
    }


def test_a_disputed_reversal_waits_for_support_like_a_dispute(
    client, metrics_token, alice, rita, sam, sue, django_capture_on_commit_callbacks
):
    from refunds.models import ReversalDispute
    from tests.refunds.staff_flows import reversal_disputed

    request = reversal_disputed(django_capture_on_commit_callbacks, alice, rita, sam)
    opened = timezone.now() - timedelta(hours=3)
    ReversalDispute.objects.update(opened_at=opened, due_at=opened - timedelta(minutes=1))
    found = samples(scrape(client))
    assert value(found, "refunds_disputes_waiting") == 1
    age = value(found, "refunds_oldest_dispute_age_seconds")
    assert 3 * 3600 <= age <= 3 * 3600 + 60
    # With a dispute of a decision opened earlier, the oldest is that one; both are counted.
    dispute = Dispute.objects.create(
        request=RefundRequestFactory(status=Status.DISPUTED),
        message="Please look again.",
        opened_at=opened - timedelta(hours=2),
        due_at=opened + timedelta(hours=40),
    )
    found = samples(scrape(client))
    assert value(found, "refunds_disputes_waiting") == 2
    assert 5 * 3600 <= value(found, "refunds_oldest_dispute_age_seconds") <= 5 * 3600 + 60
    assert services.all_open_dispute_counts(timezone.now())["overdue"] == 1
    Dispute.objects.filter(pk=dispute.pk).update(status=DisputeStatus.UPHELD)
    with django_capture_on_commit_callbacks(execute=True):
        services.keep_reversal(agent=sue, request_id=request.pk, explanation="It stands.")
    assert value(samples(scrape(client)), "refunds_disputes_waiting") == 0


def test_with_no_work_the_gauges_say_nought_and_the_missing_heartbeat_is_infinite(
    client, metrics_token
):
    found = samples(scrape(client))
    for name in (
        "refunds_open_requests",
        "refunds_oldest_open_request_age_seconds",
        "refunds_overdue_requests",
        "refunds_due_within_4h_requests",
        "refunds_disputes_waiting",
        "refunds_oldest_dispute_age_seconds",
        "refunds_credits_needing_person",
        "refunds_worker_queued_tasks",
        "refunds_worker_failed_tasks",
    ):
        assert value(found, name) == 0, name
    assert value(found, "refunds_worker_heartbeat_age_seconds") == math.inf
    assert not any(name == "refunds_decisions_total" for name, _ in found)
    # Declared all the same, so a query naming it is valid before the first decision.
    assert "refunds_decisions_total" in names(scrape(client))


def test_a_decision_taken_back_with_undo_still_counts_so_the_counter_never_falls(
    client, metrics_token, alice, rita, settings
):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    key = ("refunds_decisions_total", (("kind", "review"), ("outcome", "approved")))
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    assert samples(scrape(client))[key] == 1
    services.undo(reviewer=rita, request_id=request.pk)
    assert samples(scrape(client))[key] == 1
    services.approve(reviewer=rita, request_id=request.pk)
    assert samples(scrape(client))[key] == 2


def test_a_broker_that_does_not_answer_leaves_the_rest_of_the_scrape(
    client, metrics_token, work, monkeypatch
):
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", NOWHERE)
    found = samples(scrape(client))
    assert not any(name == "refunds_worker_queued_tasks" for name, _ in found)
    assert value(found, "refunds_open_requests") == 4


@pytest.mark.parametrize("size", [3, 30])
def test_the_scrape_costs_the_same_queries_for_any_amount_of_work(
    size, client, metrics_token, alice, bob, monkeypatch, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(size):
        RefundRequestFactory(lead__pro=alice, due_at=now + timedelta(hours=i - size / 2))
        Dispute.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.DISPUTED),
            message="Look again.",
            due_at=now + timedelta(hours=i),
        )
        Credit.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.REVIEWED),
            amount=Decimal("1"),
            method="balance",
            attempts=100,
        )
        create_decision(
            request=RefundRequestFactory(lead__pro=bob, status=Status.REVIEWED),
            outcome=Outcome.APPROVED,
            kind=[DecisionKind.REVIEW, DecisionKind.AUTO_APPROVAL][i % 2],
            amount=Decimal("1"),
        )
        task_result(f"failed-{i}", success=False)
    queue_tasks(monkeypatch, size)
    services.record_heartbeat()
    with django_assert_max_num_queries(METRICS_QUERIES) as counted:
        response = scrape(client)
    # The decisions are read from their tallies: the scrape never counts history.
    assert not [q["sql"] for q in counted.captured_queries if '"refunds_decision"' in q["sql"]]
    found = samples(response)
    assert value(found, "refunds_open_requests") == size
    assert value(found, "refunds_disputes_waiting") == size
    assert value(found, "refunds_credits_needing_person") == size
    assert value(found, "refunds_worker_queued_tasks") == size
    assert value(found, "refunds_worker_failed_tasks") == size
    assert (
        value(found, "refunds_decisions_total", outcome="approved", kind="review")
        == (size + 1) // 2
    )
