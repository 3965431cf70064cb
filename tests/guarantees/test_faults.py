"""Nothing is lost and nothing is paid twice when the parts around us fail.

The payment provider failing and recovering, the worker dying between a decision and its
credit, the mail server refusing, the database refusing a write in the middle of a request.
The failures are real where that is possible: a gateway and an email backend class plugged in
through settings, a database trigger that refuses an insert, and (on PostgreSQL) a trigger that
kills the very connection that is writing. Tasks travel the cluster's own path, broker → worker
→ monitor, as tests/refunds/test_tasks_credit_retries.py does.
"""

from __future__ import annotations

import smtplib
import time
from datetime import timedelta
from decimal import Decimal
from multiprocessing import Value
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.monitor import monitor
from django_q.queues import Queue
from django_q.signing import SignedPackage
from django_q.worker import worker

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod
from refunds import services, tasks
from refunds.choices import CreditStatus, Reason, Status
from refunds.gateway import GatewayError, GatewayRefund, SandboxGateway
from refunds.management.commands.audit_refunds import problems_of
from refunds.models import Credit, Decision, RefundEvent, RefundRequest, SandboxRefund
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, chatty_lead, submitted

# A provider that fails, then recovers


class FailingGateway:
    """Fails `failures` times (raising each of `errors` in turn), then refunds like the sandbox."""

    failures = 0
    errors: tuple[Exception, ...] = ()
    calls: list[str] = []

    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund:
        FailingGateway.calls.append(idempotency_key)
        n = len(FailingGateway.calls)
        if n <= FailingGateway.failures:
            raise FailingGateway.errors[(n - 1) % len(FailingGateway.errors)]
        return SandboxGateway().refund(idempotency_key=idempotency_key, amount=amount)


PROVIDER_DOWN = GatewayError("provider answered 503 Service Unavailable")
PROVIDER_SLOW = TimeoutError("provider did not answer within 30 s")


@pytest.fixture
def gateway(settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.FailingGateway"
    FailingGateway.calls = []

    def failing(times: int, *errors: Exception) -> type[FailingGateway]:
        FailingGateway.failures = times
        FailingGateway.errors = errors or (PROVIDER_DOWN,)
        return FailingGateway

    return failing


class Cluster:
    """The worker's path, run on demand: tasks wait in the ORM broker until delivered.

    Tasks a delivered task queues (on commit) go into the broker too, as in production.
    """

    def __init__(self, monkeypatch, capture):
        self.monkeypatch = monkeypatch
        self.capture = capture
        self.broker = get_broker()
        monkeypatch.setattr(Conf, "SYNC", False)

    def deliver(self) -> int:
        delivered = self.broker.dequeue() or []
        with self.capture() as follow_ups:
            # Sync for the delivery itself, so django-q2 keeps the test's database connection.
            self.monkeypatch.setattr(Conf, "SYNC", True)
            task_queue, result_queue = Queue(), Queue()
            for ack_id, payload in delivered:
                task = SignedPackage.loads(payload)
                task["ack_id"] = ack_id
                task_queue.put(task)
            task_queue.put("STOP")
            worker(task_queue, result_queue, Value("f", -1))
            result_queue.put("STOP")
            monitor(result_queue, self.broker)
            self.monkeypatch.setattr(Conf, "SYNC", False)
        for enqueue in follow_ups:
            enqueue()
        return len(delivered)

    def wait_retry(self) -> None:
        # What Q_RETRY seconds do: the lock on an unacknowledged task runs out.
        OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=1))

    def queued(self) -> list[str]:
        return sorted(q.task["func"].rsplit(".", 1)[-1] for q in OrmQ.objects.all())


@pytest.fixture
def cluster(monkeypatch, django_capture_on_commit_callbacks) -> Cluster:
    return Cluster(monkeypatch, django_capture_on_commit_callbacks)


def consistent(request: RefundRequest) -> RefundRequest:
    request = RefundRequest.objects.get(pk=request.pk)
    assert list(problems_of(request)) == []
    return request


def actions_of(request: RefundRequest) -> list[str]:
    return list(request.events.order_by("created_at", "id").values_list("action", flat=True))


@pytest.fixture
def card_request(alice) -> RefundRequest:
    return submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("40.00"))


@pytest.mark.parametrize(
    "errors", [(PROVIDER_DOWN,), (PROVIDER_SLOW,), (PROVIDER_SLOW, PROVIDER_DOWN)]
)
def test_a_provider_that_fails_then_recovers_is_paid_once(
    gateway, card_request, rita, sam, cluster, client, errors, django_capture_on_commit_callbacks
):
    calls = gateway(3, *errors)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=card_request.pk)
    assert cluster.queued() == ["post_credit"]
    credit = Credit.objects.get(request=card_request)

    for attempt in (1, 2, 3):
        if attempt > 1:
            assert cluster.deliver() == 0, "a failed task waits for the retry time"
            cluster.wait_retry()
        assert cluster.deliver() == 1
        credit.refresh_from_db()
        error = errors[(attempt - 1) % len(errors)]
        assert credit.status == CreditStatus.PENDING
        assert credit.attempts == attempt
        assert credit.last_error == f"{type(error).__name__}: {error}"
        assert cluster.queued() == ["post_credit"], "the failed task stays queued"

    # Support sees the attempts and the provider's error, on the credit and on the request.
    client.force_login(sam)
    for url in (
        reverse("admin:refunds_credit_change", args=[credit.pk]),
        reverse("admin:refunds_refundrequest_change", args=[card_request.pk]),
        reverse("admin:refunds_credit_changelist"),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert str(errors[2 % len(errors)]) in page.content.decode(), url
    assert SandboxRefund.objects.count() == 0

    cluster.wait_retry()
    assert cluster.deliver() == 1
    credit.refresh_from_db()
    assert (credit.status, credit.attempts, credit.last_error) == (CreditStatus.POSTED, 4, "")
    assert Task.objects.get(func="refunds.tasks.post_credit").attempt_count == 4
    request = consistent(card_request)
    assert request.status == Status.CREDITED
    assert actions_of(request) == ["submit", "approve", "credit_posted"]
    assert calls.calls == [f"refund-request-{request.pk}"] * 4
    assert SandboxRefund.objects.get().amount == Decimal("40.00")

    # The approval email goes out once; nothing else is left to do.
    assert cluster.queued() == ["email_notice"]
    assert cluster.deliver() == 1
    cluster.wait_retry()
    assert cluster.deliver() == 0
    assert len(mail.outbox) == 1


def test_retries_against_a_provider_that_never_recovers_are_bounded(
    gateway, card_request, rita, sam, cluster, client, settings, django_capture_on_commit_callbacks
):
    calls = gateway(10_000, PROVIDER_DOWN)
    max_attempts = settings.Q_CLUSTER["max_attempts"]
    assert max_attempts < settings.CREDIT_MAX_ATTEMPTS, "the sweep gets more rounds than one task"
    settings.CREDIT_MAX_ATTEMPTS = limit = max_attempts + 3  # two rounds, the second cut short
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=card_request.pk)

    def drain() -> int:
        deliveries = 0
        while cluster.queued():
            cluster.wait_retry()
            deliveries += cluster.deliver()
        return deliveries

    # The worker gives up on one task after max_attempts deliveries.
    assert drain() == max_attempts
    assert len(calls.calls) == max_attempts
    # The stuck-decisions sweep queues it again, until the credit's own limit.
    now = timezone.now()
    for _ in range(5):
        now += services.STUCK_AFTER + timedelta(minutes=1)
        with django_capture_on_commit_callbacks(execute=True):
            services.resume_stuck(now=now)
        drain()
    assert len(calls.calls) == limit
    credit = Credit.objects.get(request=card_request)
    assert (credit.status, credit.attempts) == (CreditStatus.PENDING, limit)
    assert services.resume_stuck(now=now + timedelta(hours=1))["credits"] == []
    tasks.post_credit(credit.pk)  # a stray redelivery does not call the provider either
    assert len(calls.calls) == limit
    assert list(services.stuck_credits()) == [credit]
    request = consistent(card_request)
    assert request.status == Status.REVIEWED
    assert SandboxRefund.objects.count() == 0

    # Support finds it among the credits that need a person, with the count and the error.
    client.force_login(sam)
    page = client.get(reverse("admin:refunds_credit_changelist"), {"stuck": "yes"})
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#{card_request.pk}" in text
    assert "GatewayError: provider answered 503 Service Unavailable" in text


# The worker dies


def test_a_decision_whose_credit_task_never_ran_is_completed_once_by_the_sweep(
    alice, lead, rita, django_capture_on_commit_callbacks
):
    # The on-commit callbacks are dropped: the worker never got the task (killed, or down).
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    services.approve(reviewer=rita, request_id=request.pk)
    assert RefundRequest.objects.get(pk=request.pk).status == Status.REVIEWED
    assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()

    now = timezone.now()
    early = services.resume_stuck(now=now + services.STUCK_AFTER - timedelta(minutes=1))
    assert early["credits"] == [], "a task that may still be on its way is not raced"

    later = now + services.STUCK_AFTER + timedelta(minutes=1)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.resume_stuck(now=later)
        later += timedelta(minutes=5)

    request = consistent(request)
    assert request.status == Status.CREDITED
    assert LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND).count() == 1
    assert alice.balance() == lead.price
    assert request.credit.attempts == 1
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1
    assert actions_of(request) == ["submit", "approve", "credit_posted"]


def test_a_denial_whose_notice_task_never_ran_is_delivered_once_by_the_sweep(
    alice, lead, rita, django_capture_on_commit_callbacks
):
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    services.deny(reviewer=rita, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE)
    later = timezone.now() + services.STUCK_AFTER + timedelta(minutes=1)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.resume_stuck(now=later)
        later += timedelta(minutes=5)
    request = consistent(request)
    assert request.status == Status.DENIED
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1
    assert actions_of(request) == ["submit", "deny", "denial_sent"]


def test_a_worker_killed_in_the_middle_of_a_credit_task_leaves_it_to_be_handed_out_again(
    alice, lead, rita, cluster, django_capture_on_commit_callbacks
):
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=request.pk)
    # A worker took the task and died before finishing it: no acknowledgement, no result.
    assert len(cluster.broker.dequeue()) == 1
    assert cluster.deliver() == 0, "the task is locked while the dead worker 'has' it"
    cluster.wait_retry()
    assert cluster.deliver() == 1
    request = consistent(request)
    assert request.status == Status.CREDITED
    assert LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND).count() == 1


# The mail server fails


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_failing_mail_server_leaves_the_decision_and_the_inbox_and_retries_the_email(
    alice, lead, rita, cluster, client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    with django_capture_on_commit_callbacks(execute=True):
        services.deny(
            reviewer=rita, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
        )
    assert cluster.deliver() == 1  # the denial notice
    assert cluster.queued() == ["email_notice"]
    assert cluster.deliver() == 1  # the email: refused by the mail server
    task = Task.objects.get(func="refunds.tasks.email_notice")
    assert not task.success
    assert "SMTPServerDisconnected" in task.result

    request = consistent(request)
    assert request.status == Status.DENIED
    message = InboxMessage.objects.get(recipient=alice)
    assert message.emailed_at is None
    assert cluster.queued() == ["email_notice"], "the email task waits to be retried"
    client.force_login(alice)
    inbox = client.get(reverse("inbox"))
    assert inbox.status_code == 200
    assert message.subject in inbox.content.decode()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cluster.wait_retry()
    assert cluster.deliver() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == message.subject
    message.refresh_from_db()
    assert message.emailed_at is not None
    # A late duplicate of the task (a redelivery, the sweep) sends nothing more.
    tasks.email_notice(message.pk)
    assert len(mail.outbox) == 1
    assert cluster.queued() == []


# The database refuses a write in the middle of a request


def refuse_inserts(table: str) -> None:
    """A trigger that makes every insert into `table` fail, in this test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION guarantees_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'insert refused by the test'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER guarantees_refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION guarantees_refuse()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER guarantees_refuse BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'insert refused by the test'); END"
            )


def error_page_client(user) -> Client:
    # As a browser sees it: the 500 page, not the exception.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("table", ["refunds_decision", "refunds_credit", "refunds_refundevent"])
def test_a_database_error_while_approving_leaves_no_half_written_rows(alice, rita, table):
    request = submitted(alice)
    refuse_inserts(table)

    response = error_page_client(rita).post(
        reverse("admin:refunds_refundrequest_change", args=[request.pk]),
        {"transition": "approve"},
    )

    assert response.status_code == 500
    assert "Nothing was half-done" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert request.decided_at is None
    assert not Decision.objects.exists()
    assert not Credit.objects.exists()
    assert actions_of(request) == ["submit"]


def test_a_database_error_while_reporting_stores_no_request(alice):
    lead = chatty_lead(alice)
    refuse_inserts("refunds_refundevent")

    response = error_page_client(alice).post(
        reverse("report", args=[lead.pk]), {"reason": Reason.WRONG_JOB, "details": ""}
    )

    assert response.status_code == 500
    assert not RefundRequest.objects.exists()
    assert not RefundEvent.objects.exists()


def test_a_database_error_while_posting_a_credit_pays_nothing_and_is_retried(
    alice, lead, rita, django_capture_on_commit_callbacks
):
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    services.approve(reviewer=rita, request_id=request.pk)
    credit = Credit.objects.get(request=request)
    refuse_inserts("refunds_refundevent")  # after the ledger entry, inside the same transaction

    with pytest.raises(Exception, match="insert refused by the test"):
        tasks.post_credit(credit.pk)

    credit.refresh_from_db()
    assert (credit.status, credit.attempts) == (CreditStatus.PENDING, 1)
    assert "insert refused by the test" in credit.last_error
    assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()
    assert RefundRequest.objects.get(pk=request.pk).status == Status.REVIEWED

    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER guarantees_refuse ON refunds_refundevent"
            if connection.vendor == "postgresql"
            else "DROP TRIGGER guarantees_refuse"
        )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.post_credit(credit.pk)
    request = consistent(request)
    assert request.status == Status.CREDITED
    assert LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="kills the writing connection from a PostgreSQL trigger (pg_terminate_backend)",
)
def test_the_database_connection_dropping_mid_decision_shows_an_error_and_stores_nothing(
    alice, rita
):
    request = submitted(alice)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION guarantees_hang_up() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER guarantees_hang_up BEFORE INSERT ON refunds_decision "
            "FOR EACH ROW EXECUTE FUNCTION guarantees_hang_up()"
        )
    try:
        response = error_page_client(rita).post(
            reverse("admin:refunds_refundrequest_change", args=[request.pk]),
            {"transition": "approve"},
        )
        assert response.status_code == 500
        assert "Nothing was half-done" in response.content.decode()
    finally:
        connections.close_all()
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER guarantees_hang_up ON refunds_decision")
            cursor.execute("DROP FUNCTION guarantees_hang_up()")

    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert not Decision.objects.exists()
    assert not Credit.objects.exists()
    assert actions_of(request) == ["submit"]


# The database drops a kept connection between requests


def serve(path: str, cookie: str) -> int:
    """One GET through Django's WSGI handler, as a WSGI server's worker runs it.

    The test client leaves Django's connection housekeeping out of its requests (it disconnects
    close_old_connections from request_started and request_finished); a server keeps it in, and
    that is where a kept connection is checked. Returns the status code.
    """
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, HTTP_COOKIE=cookie)
    statuses = []
    response = WSGIHandler()(
        environ, lambda status, headers, exc_info=None: statuses.append(status)
    )
    try:
        b"".join(response)
    finally:
        response.close()  # request_finished, as the server sends it
    return int(statuses[0].split()[0])


def backend_pid() -> int | None:
    return connection.connection.info.backend_pid if connection.connection else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="terminates the connection's PostgreSQL backend (pg_terminate_backend)",
)
@pytest.mark.parametrize("health_checks", [True, False], ids=["health-checks", "without"])
def test_a_kept_connection_the_database_dropped_is_replaced_before_the_next_request(
    alice, monkeypatch, health_checks
):
    assert connection.settings_dict["CONN_MAX_AGE"] > 0, "connections are kept between requests"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"], "settings turn the health check on"
    # The "without" run shows what the setting is for (connect() reads it).
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", health_checks)
    connection.close()
    client = Client()
    client.force_login(alice)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    inbox = reverse("inbox")

    assert serve(inbox, cookie) == 200
    kept = backend_pid()
    assert kept is not None
    assert serve(inbox, cookie) == 200
    assert backend_pid() == kept, "the second request used the same connection"

    # The database ends that connection while the process waits for its next request
    # (a failover, a restart, an operator's pg_terminate_backend).
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [kept])
            for _ in range(50):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [kept])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.1)
    finally:
        other.close()

    if health_checks:
        assert serve(inbox, cookie) == 200
    else:
        assert serve(inbox, cookie) == 500, "the dead connection's first query fails"
        assert serve(inbox, cookie) == 200, "Django drops it after the error"
    assert backend_pid() not in (None, kept)
