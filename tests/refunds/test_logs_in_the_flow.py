"""The logs of a refund's whole path: a task carries the id of the request that queued it to
the worker, and no customer detail, address or message body reaches a log line.

Transactional, because it is on commit, inside the request, that a decision queues its credit:
a test transaction would hold the queueing back until after the request.
"""

import json
import logging
import smtplib
from datetime import timedelta
from multiprocessing import Value

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.monitor import monitor
from django_q.queues import Queue
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage
from django_q.tasks import async_task
from django_q.worker import worker

from accounts.models import InboxMessage
from config.logs import HEADER
from leads.choices import Channel, Sender
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import Credit, RefundRequest
from tests.factories import ContactAttemptFactory, LeadFactory, MessageFactory
from tests.refunds.staff_flows import make_stale, submitted

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = {
    "customer_name": "Dana Whitfield",
    "customer_phone": "+15125550199",
    "customer_email": "dana.whitfield@example.test",
    "request_text": "The water heater pilot light keeps going out.",
}
THREAD = [
    (Sender.CUSTOMER, "Can you come Thursday? Gate code is 4417."),
    (Sender.PRO, "I do plumbing, not roofing; the roof leak is someone else's job."),
    (Sender.CUSTOMER, "Oh, then never mind, call me on 512 555 0199."),
]
DETAILS = "She needs a roofer for the attic leak, not a plumber."


def page_of(request: RefundRequest) -> str:
    return f"/admin/refunds/refundrequest/{request.pk}/change/"


def lines_with(lines: list[dict], request_id: str) -> list[dict]:
    return [line for line in lines if line.get("request_id") == request_id]


def test_a_report_approval_credit_and_email_log_no_customer_detail_and_one_id(
    client, alice, rita, log_lines, caplog
):
    # Everything any logger says, down to DEBUG, the worker's included.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django-q")
    lead = LeadFactory(pro=alice, **CUSTOMER)
    for minutes, (sender, body) in enumerate(THREAD, start=10):
        sent_at = lead.received_at + timedelta(minutes=minutes)
        MessageFactory(lead=lead, sender=sender, body=body, sent_at=sent_at)
    ContactAttemptFactory(lead=lead, channel=Channel.MESSAGE)
    ContactAttemptFactory(
        lead=lead, channel=Channel.PHONE, attempted_at=lead.received_at + timedelta(hours=30)
    )

    client.force_login(alice)
    assert client.get(reverse("lead_thread", args=[lead.pk])).status_code == 200
    reported = client.post(
        reverse("report", args=[lead.pk]), {"reason": Reason.WRONG_JOB, "details": DETAILS}
    )
    assert reported.status_code == 302
    request = RefundRequest.objects.get(lead=lead)

    client.force_login(rita)
    assert client.get(page_of(request)).status_code == 200
    approved = client.post(page_of(request), {"transition": "approve"})
    assert approved.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    [email] = mail.outbox
    assert email.to == [alice.email]

    client.force_login(alice)
    assert client.get(reverse("inbox")).status_code == 200

    notice = InboxMessage.objects.get(recipient=alice)
    private = [
        *CUSTOMER.values(),
        "Dana",
        "Whitfield",
        "555 0199",
        "5550199",
        alice.email,
        rita.email,
        *(body for _, body in THREAD),
        DETAILS,
        notice.subject,
        notice.body,
        email.body,
    ]
    lines = log_lines()
    written = "\n".join(json.dumps(line) for line in lines)
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert len(lines) >= 8 and len(caplog.records) >= 8
    for secret in private:
        assert secret not in written, secret
        assert secret not in said, secret

    # The approval's page, the credit the worker posted and the email it sent share one id.
    approval_id = approved[HEADER]
    approval = lines_with(lines, approval_id)
    [access] = [line for line in approval if line["logger"] == "refunds.access"]
    assert (access["method"], access["path"]) == ("POST", page_of(request))
    assert access["user_id"] == rita.pk
    messages = {line["message"] for line in approval if line["logger"] == "refunds.services.tasks"}
    assert messages == {
        f"Credit {request.credit.pk} posted: 24.50 to balance (request {request.pk})",
        f"Inbox message {notice.pk} emailed to its recipient",
    }
    assert reported[HEADER] != approval_id
    assert lines_with(lines, reported[HEADER])


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that refuses the recipient, repeating the address as servers do."""

    def send_messages(self, email_messages):
        address = email_messages[0].to[0]
        raise smtplib.SMTPRecipientsRefused(
            {address: (550, f"5.1.1 <{address}>: Recipient address rejected".encode())}
        )


@pytest.fixture
def broker(monkeypatch):
    """Tasks go into the ORM broker, as in production, and a worker takes them on demand."""
    monkeypatch.setattr(Conf, "SYNC", False)
    queue = get_broker()

    def deliver() -> int:
        delivered = queue.dequeue() or []
        task_queue, result_queue = Queue(), Queue()
        for ack_id, payload in delivered:
            task = SignedPackage.loads(payload)
            task["ack_id"] = ack_id
            task_queue.put(task)
        task_queue.put("STOP")
        worker(task_queue, result_queue, Value("f", -1))
        result_queue.put("STOP")
        monitor(result_queue, queue)
        return len(delivered)

    return deliver


def test_the_worker_runs_a_task_under_the_id_of_the_request_that_queued_it(
    client, alice, rita, log_lines, broker, settings
):
    request = submitted(alice)
    client.force_login(rita)
    approval_id = client.post(page_of(request), {"transition": "approve"})[HEADER]
    credit = Credit.objects.get(request=request)
    # Name and arguments as before: the id travels beside them in the package.
    [queued] = [q.task for q in OrmQ.objects.all()]
    assert (queued["func"], queued["args"], queued["kwargs"]) == (
        "refunds.tasks.post_credit",
        (credit.pk,),
        {},
    )
    assert queued["request_id"] == approval_id

    settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"
    assert broker() == 1  # the credit, which queues the email
    [queued] = [q.task for q in OrmQ.objects.all()]
    assert (queued["func"], queued["request_id"]) == ("refunds.tasks.email_notice", approval_id)
    assert broker() == 1  # the mail server refuses it
    assert not Task.objects.get(func="refunds.tasks.email_notice").success
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OrmQ.objects.update(lock=timezone.now() - timedelta(seconds=1))  # Q_RETRY has passed
    assert broker() == 1
    assert len(mail.outbox) == 1

    lines = log_lines()
    worker_lines = [line["message"] for line in lines_with(lines, approval_id)]
    assert worker_lines[1:] == [
        f"Credit {credit.pk} posted: 24.50 to balance (request {request.pk})",
        "Task refunds.tasks.email_notice failed: smtplib.SMTPRecipientsRefused: "
        "{'[email]': (550, b'5.1.1 <[email]>: Recipient address rejected')}",
        f"Inbox message {InboxMessage.objects.get().pk} emailed to its recipient",
    ]
    # The monitor's line of the failure, with the traceback, names no address either.
    [failed] = [line for line in lines if line["message"].startswith("Failed ")]
    assert "SMTPRecipientsRefused" in failed["message"]
    assert alice.email not in json.dumps(lines)
    assert Task.objects.get(func="refunds.tasks.post_credit").args == (credit.pk,)


def test_a_decision_sent_after_the_undo_window_keeps_the_approvals_id(
    client, alice, rita, log_lines, settings
):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    request = submitted(alice)
    client.force_login(rita)
    approval_id = client.post(page_of(request), {"transition": "approve"})[HEADER]
    later = Schedule.objects.get(func="refunds.tasks.run_later")
    Schedule.objects.filter(pk=later.pk).update(next_run=timezone.now() - timedelta(seconds=1))

    scheduler()  # the worker's scheduler, with no request around it

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    [posted] = [line for line in log_lines() if line["message"].startswith("Credit ")]
    assert posted["request_id"] == approval_id


def test_a_sweep_gives_the_tasks_it_queues_an_id_of_its_own(alice, rita, log_lines, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    OrmQ.objects.all().delete()  # the worker lost the credit
    make_stale(request)
    monkeypatch.setattr(Conf, "SYNC", True)

    async_task("refunds.tasks.resume_stuck")

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    lines = log_lines()
    [resumed] = [line for line in lines if line["message"].startswith("Resumed stuck")]
    [posted] = [line for line in lines if line["message"].startswith("Credit ")]
    assert resumed["request_id"] is not None
    assert posted["request_id"] == resumed["request_id"]
