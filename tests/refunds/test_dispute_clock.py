"""Disputes have a clock: support answers within REFUND_DISPUTE_HOURS of the pro's reply; the
pro is told when, the disputes queue is in due order with the time left, and the sweep flags
the late ones once and tells support."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.choices import Role
from refunds import services, tasks
from refunds.models import Dispute, RefundEvent
from tests.factories import StaffFactory
from tests.refunds.staff_flows import denied

DISPUTES = "/admin/refunds/dispute/"


def _dispute(capture, pro, reviewer, *, hours_ago: float = 0, **lead) -> Dispute:
    request = denied(capture, pro, reviewer, **lead)
    return services.open_dispute(
        pro=pro,
        request_id=request.pk,
        message="The customer asked for a roof.",
        now=timezone.now() - timedelta(hours=hours_ago),
    )


def test_a_dispute_is_due_the_setting_s_hours_after_the_reply(
    alice, rita, django_capture_on_commit_callbacks, settings
):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "DISPUTE_HOURS": 30}
    dispute = _dispute(django_capture_on_commit_callbacks, alice, rita)
    assert dispute.due_at - dispute.opened_at == timedelta(hours=30)


def test_the_pro_is_told_when_to_expect_the_answer(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = denied(django_capture_on_commit_callbacks, alice, rita)
    notice = request.decisions.latest().notice
    response = client_for(alice).post(
        f"/inbox/{notice.pk}/dispute/", {"message": "It was a roofing job."}, follow=True
    )
    dispute = Dispute.objects.get(request=request)
    due = timezone.localtime(dispute.due_at)
    when = f"{due:%b} {due.day}, {due:%-I:%M %p} UTC"
    assert f"answer here by {when}" in response.text
    page = client_for(alice).get(f"/inbox/{notice.pk}/").text
    assert "Support will answer here in your Inbox by" in page
    assert when in page


def test_the_queue_is_in_due_order_with_the_time_left(
    client_for, alice, bob, rita, sam, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    recent = _dispute(capture, alice, rita, hours_ago=1)
    late = _dispute(capture, bob, rita, hours_ago=50)
    middle = _dispute(capture, alice, rita, hours_ago=20)
    response = client_for(sam).get(DISPUTES)
    assert [d.pk for d in response.context["cl"].result_list] == [late.pk, middle.pk, recent.pk]
    html = response.text
    assert "2 h 0 m overdue" in html or "1 h 59 m overdue" in html
    assert "rq-chip--late" in html
    assert "1 d 3 h left" in html  # the middle one: 48 − 20 hours, less the page's seconds


def test_the_sweep_flags_a_late_dispute_once_and_tells_support(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    StaffFactory(email="", roles=[Role.SUPPORT])  # no address: nobody to write to
    capture = django_capture_on_commit_callbacks
    now = timezone.now()
    late = _dispute(capture, alice, rita)
    denial = denied(capture, alice, rita)
    services.open_dispute(
        pro=alice, request_id=denial.pk, message="Wrong job.", now=now + timedelta(hours=10)
    )
    mail.outbox.clear()
    sweep_at = now + timedelta(hours=49)

    assert services.sweep_overdue_disputes(now=sweep_at) == [late.request_id]
    late.refresh_from_db()
    assert late.overdue_notified_at == sweep_at
    assert RefundEvent.objects.filter(request=late.request, action="dispute_overdue").count() == 1
    [email] = mail.outbox
    assert email.to == ["sam@example.test"]
    assert "1 dispute past the 48-hour answer time" in email.subject
    assert f"#{late.request_id}" in email.body

    assert services.sweep_overdue_disputes(now=sweep_at) == []
    assert len(mail.outbox) == 1

    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()


def test_the_scheduled_sweep_covers_requests_and_disputes(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    _dispute(django_capture_on_commit_callbacks, alice, rita, hours_ago=50)
    assert tasks.sweep_overdue() == 1
    assert tasks.sweep_overdue() == 0


def test_an_answered_dispute_is_never_flagged(alice, rita, sam, django_capture_on_commit_callbacks):
    late = _dispute(django_capture_on_commit_callbacks, alice, rita, hours_ago=60)
    services.overturn(agent=sam, request_id=late.request_id, note="Agreed.")
    assert services.sweep_overdue_disputes() == []


@pytest.mark.parametrize("hours_ago", [47.9, 48.1])
def test_the_sweep_counts_from_the_due_time_to_the_minute(
    alice, rita, django_capture_on_commit_callbacks, hours_ago
):
    _dispute(django_capture_on_commit_callbacks, alice, rita, hours_ago=hours_ago)
    assert len(services.sweep_overdue_disputes()) == (1 if hours_ago > 48 else 0)
