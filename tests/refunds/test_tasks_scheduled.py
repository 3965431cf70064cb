"""The worker's schedules: expired claims, decisions stuck in REVIEWED, and the overdue sweep."""

import importlib
import pydoc
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import InboxMessage, LedgerEntry
from refunds import services, tasks
from refunds.choices import DecisionKind, Reason, Status
from refunds.models import Decision, RefundRequest
from tests.factories import LeadFactory, RefundRequestFactory, StaffFactory
from tests.refunds.staff_flows import (
    EXPLANATION,
    GUIDANCE,
    make_stale,
    run_on_commit,
    submitted,
)

schedules_migration = importlib.import_module("refunds.migrations.0003_schedules")
peer_stats_migration = importlib.import_module(
    "refunds.migrations.0004_peer_stats_and_queue_indexes"
)
heartbeat_migration = importlib.import_module("refunds.migrations.0014_worker_heartbeat")
rollups_migration = importlib.import_module("refunds.migrations.0015_rollups")


# The schedules


def test_the_migration_schedules_every_recurring_task(db):
    names = {name: func for name, func, _ in schedules_migration.SCHEDULES}
    stored = Schedule.objects.filter(name__in=names)
    assert stored.count() == 3
    for schedule in stored:
        assert schedule.func == names[schedule.name]
        assert callable(pydoc.locate(schedule.func)), schedule.func
        assert (schedule.schedule_type, schedule.repeats) == (Schedule.MINUTES, -1)
    later = (
        peer_stats_migration.SCHEDULES + heartbeat_migration.SCHEDULES + rollups_migration.SCHEDULES
    )
    for name, func, _ in later:
        assert Schedule.objects.get(name=name).func == func
        assert callable(pydoc.locate(func)), func


def test_creating_the_schedules_again_changes_nothing(db):
    Schedule.objects.filter(name="refunds: overdue sweep").update(minutes=15)
    schedules_migration.create_schedules(apps, None)
    schedules_migration.create_schedules(apps, None)
    peer_stats_migration.create_schedule(apps, None)
    heartbeat_migration.create_schedules(apps, None)
    rollups_migration.create_schedules(apps, None)
    assert Schedule.objects.filter(name__startswith="refunds: ").count() == 7
    assert Schedule.objects.get(name="refunds: overdue sweep").minutes == 15


# Claims run out


def test_an_expired_claim_goes_back_to_the_queue(alice, rita):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk, now=timezone.now() - timedelta(hours=1))
    assert tasks.expire_claims() == 1
    request.refresh_from_db()
    assert (request.status, request.claimed_by, request.claimed_until) == (
        Status.SUBMITTED,
        None,
        None,
    )
    event = request.events.last()
    assert (event.action, event.actor, event.note) == (
        "claim_expired",
        None,
        "Claim by rita@example.test ran out.",
    )


def test_a_live_claim_is_kept(alice, rita):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk)
    assert tasks.expire_claims() == 0
    request.refresh_from_db()
    assert request.claimed_by == rita


# Decisions stuck in REVIEWED (the worker was down, or crashed mid-way)


def test_an_approval_whose_credit_was_lost_is_credited_once(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    # Committed, but its queued credit never ran: the on-commit callbacks are dropped.
    services.approve(reviewer=rita, request_id=request.pk)
    make_stale(request)

    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)
    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert LedgerEntry.objects.filter(pro=alice).count() == 1
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1


def test_a_denial_whose_notice_was_lost_is_delivered_once(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    services.deny(reviewer=rita, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE)
    make_stale(request)

    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)
    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)

    request.refresh_from_db()
    assert request.status == Status.DENIED
    assert InboxMessage.objects.filter(recipient=alice).count() == 1
    assert len(mail.outbox) == 1


def test_a_lost_email_copy_is_sent_once(alice, rita, django_capture_on_commit_callbacks):
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    services.post_credit(request.credit.pk)  # posted, but its email task never ran
    message = InboxMessage.objects.get(recipient=alice)
    InboxMessage.objects.filter(pk=message.pk).update(
        created_at=message.created_at - timedelta(minutes=30)
    )
    assert mail.outbox == []

    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)
    run_on_commit(django_capture_on_commit_callbacks, tasks.resume_stuck)

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.emailed_at is not None


def test_the_resume_sweep_never_emails_an_automatic_denial(alice, rita):
    request = RefundRequestFactory(lead__pro=alice, status=Status.REVIEWED)
    decision = Decision.objects.create(
        request=request,
        outcome="denied",
        kind=DecisionKind.AUTOMATIC,
        explanation=EXPLANATION,
        guidance=GUIDANCE,
        decided_at=timezone.now() - timedelta(minutes=30),
    )
    services.deliver_denial(decision.pk)
    message = InboxMessage.objects.get(recipient=alice)
    InboxMessage.objects.filter(pk=message.pk).update(
        created_at=message.created_at - timedelta(minutes=30)
    )
    assert services.resume_stuck()["emails"] == []


def test_recent_decisions_are_left_to_the_worker(alice, rita):
    approved = submitted(alice)
    services.approve(reviewer=rita, request_id=approved.pk)
    denied = submitted(alice)
    services.deny(reviewer=rita, request_id=denied.pk, explanation=EXPLANATION, guidance=GUIDANCE)
    assert services.resume_stuck() == {"credits": [], "top_ups": [], "denials": [], "emails": []}


# The overdue sweep


@pytest.fixture
def overdue_mix(alice, bob):
    now = timezone.now()
    late = now - timedelta(hours=30)
    return {
        "late_submitted": RefundRequestFactory(lead__pro=alice, submitted_at=late),
        "late_in_review": RefundRequestFactory(
            lead__pro=bob, submitted_at=late, status=Status.IN_REVIEW
        ),
        "on_time": RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=2)),
        "late_but_decided": RefundRequestFactory(
            lead__pro=bob, submitted_at=late, status=Status.REVIEWED
        ),
    }


def test_the_sweep_flags_overdue_open_requests_and_emails_the_reviewers(
    overdue_mix, rita, ralph, sam
):
    assert tasks.sweep_overdue() == 2

    flagged = set(
        RefundRequest.objects.filter(overdue_notified_at__isnull=False).values_list("pk", flat=True)
    )
    assert flagged == {overdue_mix["late_submitted"].pk, overdue_mix["late_in_review"].pk}
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == ["ralph@example.test", "rita@example.test"]
    assert email.subject == "2 refund requests past the 24-hour review deadline"
    for key in ("late_submitted", "late_in_review"):
        pk = overdue_mix[key].pk
        assert f"#{pk} " in email.body
        assert f"/admin/refunds/refundrequest/{pk}/change/" in email.body
    assert f"#{overdue_mix['on_time'].pk} " not in email.body
    assert overdue_mix["late_submitted"].events.get().action == "overdue"


def test_each_overdue_request_is_announced_once(overdue_mix, rita):
    tasks.sweep_overdue()
    assert tasks.sweep_overdue() == 0
    assert len(mail.outbox) == 1

    newly_late = RefundRequestFactory(
        lead=LeadFactory(pro=overdue_mix["on_time"].pro),
        submitted_at=timezone.now() - timedelta(hours=25),
    )
    assert tasks.sweep_overdue() == 1
    assert len(mail.outbox) == 2
    assert f"#{newly_late.pk} " in mail.outbox[1].body
    assert f"#{overdue_mix['late_submitted'].pk} " not in mail.outbox[1].body


def test_inactive_reviewers_are_not_emailed(overdue_mix, rita):
    StaffFactory(email="gone@example.test", roles=["reviewer"], is_active=False)
    tasks.sweep_overdue()
    assert mail.outbox[0].to == ["rita@example.test"]


def test_without_reviewers_the_requests_are_still_flagged(overdue_mix):
    assert tasks.sweep_overdue() == 2
    assert mail.outbox == []


class DownEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def test_a_failed_email_leaves_the_requests_for_the_next_sweep(overdue_mix, rita, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DownEmailBackend"
    with pytest.raises(ConnectionRefusedError):
        tasks.sweep_overdue()
    assert not RefundRequest.objects.filter(overdue_notified_at__isnull=False).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.sweep_overdue() == 2


# The queue's statistics


def test_queue_stats_count_the_share_decided_in_time(alice, bob):
    now = timezone.now()

    def request(days_ago: float, decided_after_hours: float | None, **kwargs):
        submitted_at = now - timedelta(days=days_ago)
        decided_at = (
            submitted_at + timedelta(hours=decided_after_hours)
            if decided_after_hours is not None
            else None
        )
        kwargs.setdefault("status", Status.CREDITED if decided_at else Status.SUBMITTED)
        return RefundRequestFactory(
            lead=LeadFactory(pro=alice),
            submitted_at=submitted_at,
            decided_at=decided_at,
            **kwargs,
        )

    request(2, 3)  # this week, in time
    request(3, 30)  # this week, late
    request(4, None)  # this week, undecided and overdue
    request(0.1, None)  # this week, still within its 24 h: not counted yet
    request(0.2, 1)  # this week, decided early: in time
    request(10, 5)  # this month, in time
    request(20, 48)  # this month, late
    request(40, 1)  # older than 30 days: not counted
    request(1, None, status=Status.WITHDRAWN)  # withdrawn: not counted
    auto = request(2, 0)  # automatic denial: never reached a reviewer
    Decision.objects.create(
        request=auto,
        outcome="denied",
        kind=DecisionKind.AUTOMATIC,
        explanation="x",
        guidance="y",
    )

    stats = services.queue_stats(now=now)
    assert stats["open"] == 2
    assert stats["overdue"] == 1
    assert stats["week"] == {"counted": 4, "in_time": 2, "share": 0.5}
    assert stats["month"] == {"counted": 6, "in_time": 3, "share": 0.5}


def test_queue_stats_without_history_have_no_share(db):
    stats = services.queue_stats()
    assert stats["week"]["share"] is None
    assert stats["month"]["share"] is None


def test_overdue_reason_is_kept_in_the_sweep_email(alice, rita):
    RefundRequestFactory(
        lead__pro=alice,
        reason=Reason.SPAM,
        submitted_at=timezone.now() - timedelta(hours=27),
    )
    tasks.sweep_overdue()
    assert "Spam, fraud or abuse" in mail.outbox[0].body
    assert "3 h overdue" in mail.outbox[0].body


def test_old_successful_worker_runs_are_pruned_and_failures_kept(db):
    from django_q.models import Failure, Success

    old = timezone.now() - timedelta(days=20)
    for name, model, stopped in (
        ("old-ok", Success, old),
        ("new-ok", Success, timezone.now()),
        ("old-failed", Failure, old),
    ):
        model.objects.create(
            id=name,
            name=name,
            func="refunds.tasks.email_notice",
            started=stopped,
            stopped=stopped,
            success=model is Success,
        )
    assert tasks.prune_task_history() == 1
    assert set(Success.objects.values_list("name", flat=True)) == {"new-ok"}
    assert Failure.objects.filter(name="old-failed").exists()
