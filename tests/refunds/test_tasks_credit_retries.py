"""Card refunds when the payment provider fails: recorded for support, retried, paid once.

settings.PAYMENT_GATEWAY points at FlakyGateway below, a provider that fails a number of times
and then behaves like the sandbox. The cluster tests run a delivery the way `qcluster` does
(broker → worker → monitor) to show a failed credit task stays queued and is handed out again.
"""

from datetime import timedelta
from decimal import Decimal
from multiprocessing import Value

import pytest
from django.core import mail
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.monitor import monitor
from django_q.queues import Queue
from django_q.signing import SignedPackage
from django_q.worker import worker

from leads.choices import PaymentMethod
from refunds import services, tasks
from refunds.choices import CreditStatus, Status
from refunds.gateway import GatewayError, GatewayRefund, SandboxGateway
from refunds.models import SandboxRefund
from tests.refunds.staff_flows import make_stale, run_on_commit, submitted


class FlakyGateway:
    """Times out `failures` times, then refunds like the sandbox (same idempotency)."""

    failures = 0
    calls: list[str] = []

    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund:
        FlakyGateway.calls.append(idempotency_key)
        if len(FlakyGateway.calls) <= FlakyGateway.failures:
            raise GatewayError("provider timed out after 30 s")
        return SandboxGateway().refund(idempotency_key=idempotency_key, amount=amount)


@pytest.fixture
def flaky(settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.FlakyGateway"
    FlakyGateway.calls = []

    def failing(times: int) -> type[FlakyGateway]:
        FlakyGateway.failures = times
        return FlakyGateway

    return failing


@pytest.fixture
def card_request(alice):
    return submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("40.00"))


def test_a_failed_card_refund_is_recorded_on_the_credit_and_raised(
    flaky, card_request, rita, django_capture_on_commit_callbacks
):
    flaky(1)
    # Under tests django-q2 runs the task in place; its exception reaches us as it reaches
    # the worker in production, which is what makes the worker retry.
    with pytest.raises(GatewayError):
        run_on_commit(
            django_capture_on_commit_callbacks,
            services.approve,
            reviewer=rita,
            request_id=card_request.pk,
        )
    card_request.refresh_from_db()
    assert card_request.status == Status.REVIEWED
    credit = card_request.credit
    assert credit.status == CreditStatus.PENDING
    assert credit.attempts == 1
    assert credit.last_error == "GatewayError: provider timed out after 30 s"
    assert SandboxRefund.objects.count() == 0
    assert mail.outbox == []


def test_retries_post_the_refund_once_it_goes_through(
    flaky, card_request, rita, django_capture_on_commit_callbacks
):
    gateway = flaky(2)
    services.approve(reviewer=rita, request_id=card_request.pk)
    credit_id = card_request.credit.pk
    for _ in range(2):
        with pytest.raises(GatewayError):
            tasks.post_credit(credit_id)
    run_on_commit(django_capture_on_commit_callbacks, tasks.post_credit, credit_id)

    card_request.refresh_from_db()
    credit = card_request.credit
    assert card_request.status == Status.CREDITED
    assert (credit.status, credit.attempts, credit.last_error) == (CreditStatus.POSTED, 3, "")
    assert gateway.calls == [f"refund-request-{card_request.pk}"] * 3
    assert SandboxRefund.objects.get().amount == Decimal("40.00")
    assert len(mail.outbox) == 1


def test_a_retry_after_success_does_not_refund_again(
    flaky, card_request, rita, django_capture_on_commit_callbacks
):
    gateway = flaky(0)
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.approve,
        reviewer=rita,
        request_id=card_request.pk,
    )
    tasks.post_credit(card_request.credit.pk)
    assert len(gateway.calls) == 1
    assert SandboxRefund.objects.count() == 1


def test_the_resume_sweep_finishes_a_credit_the_worker_gave_up_on(
    flaky, card_request, rita, django_capture_on_commit_callbacks
):
    flaky(1)
    services.approve(reviewer=rita, request_id=card_request.pk)
    with pytest.raises(GatewayError):
        tasks.post_credit(card_request.credit.pk)
    make_stale(card_request)
    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)
    card_request.refresh_from_db()
    assert card_request.status == Status.CREDITED
    assert card_request.credit.attempts == 2


# The cluster's own path: broker → worker → monitor


@pytest.fixture
def cluster(monkeypatch):
    """Queue tasks in the ORM broker instead of running them, and deliver them on demand."""
    broker = get_broker()

    def enqueue_for_real():
        monkeypatch.setattr(Conf, "SYNC", False)

    def deliver() -> int:
        # Back to sync for the delivery itself, so django-q2 keeps the test's DB connection.
        monkeypatch.setattr(Conf, "SYNC", True)
        delivered = broker.dequeue() or []
        task_queue, result_queue = Queue(), Queue()
        for ack_id, payload in delivered:
            task = SignedPackage.loads(payload)
            task["ack_id"] = ack_id
            task_queue.put(task)
        task_queue.put("STOP")
        worker(task_queue, result_queue, Value("f", -1))
        result_queue.put("STOP")
        monitor(result_queue, broker)
        return len(delivered)

    def wait_retry():
        # What Q_RETRY seconds do: the lock on an unacknowledged task runs out.
        OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=1))

    enqueue_for_real()
    return deliver, wait_retry


def test_the_cluster_keeps_a_failed_credit_task_and_hands_it_out_again(
    flaky, card_request, rita, cluster, django_capture_on_commit_callbacks
):
    deliver, wait_retry = cluster
    flaky(1)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=card_request.pk)
    assert OrmQ.objects.count() == 1

    assert deliver() == 1
    task = Task.objects.get()
    assert (task.success, task.attempt_count) == (False, 1)
    assert OrmQ.objects.count() == 1, "a failed task must stay queued to be retried"
    assert deliver() == 0, "and not before the retry time"

    wait_retry()
    assert deliver() == 1
    task.refresh_from_db()
    assert (task.success, task.attempt_count) == (True, 2)
    assert OrmQ.objects.count() == 0
    card_request.refresh_from_db()
    assert card_request.status == Status.CREDITED
    assert card_request.credit.attempts == 2


def test_the_cluster_stops_after_max_attempts(
    flaky, card_request, rita, cluster, django_capture_on_commit_callbacks, settings
):
    deliver, wait_retry = cluster
    flaky(100)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=card_request.pk)
    max_attempts = settings.Q_CLUSTER["max_attempts"]
    assert max_attempts > 1
    for _ in range(max_attempts):
        wait_retry()
        assert deliver() == 1
    assert OrmQ.objects.count() == 0
    assert Task.objects.get().attempt_count == max_attempts
    card_request.refresh_from_db()
    assert card_request.status == Status.REVIEWED
    assert card_request.credit.attempts == max_attempts
