"""The history is whole and cannot be rewritten: every transition is in the event log, the log
cannot be changed or deleted (the admin, the model, and on PostgreSQL the database refuse), and
replaying each request's log arrives at the request's current state.

manage.py audit_refunds on the demo data is tested in tests/refunds/test_audit_refunds.py; here
the replay runs over the demo data once every queued side effect has run, and over a generated
marketplace (generate_load).
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_fsm.signals import post_transition

from accounts.choices import Role
from refunds import services
from refunds.choices import Reason, Status
from refunds.management.commands.audit_refunds import ALLOWED_STEPS, problems_of
from refunds.models import ImmutableError, RefundEvent, RefundRequest
from tests.factories import LeadFactory, ProFactory, StaffFactory
from tests.refunds.staff_flows import (
    EXPLANATION,
    GUIDANCE,
    chatty_lead,
    resumed,
    reversal_disputed,
    run_on_commit,
    submitted,
)

# What the log calls each transition of RefundRequest.status.
ACTIONS = {
    "withdraw": {"withdraw"},
    "claim": {"claim"},
    "release": {"release", "claim_expired"},
    "approve": {"approve"},
    "approve_part": {"approve_part"},
    "deny": {"deny"},
    "auto_deny": {"auto_deny"},
    "auto_approve": {"auto_approve"},
    "undo": {"undo"},
    "mark_credited": {"credit_posted", "credit_kept"},
    "mark_denied": {"denial_sent"},
    "open_dispute": {"dispute"},
    "overturn": {"overturn"},
    "uphold": {"uphold"},
    "reverse_credit": {"reverse_credit"},
    "dispute_reversal": {"dispute_reversal"},
    "keep_reversal": {"keep_reversal"},
    "restore_credit": {"restore_credit"},
}
NOT_TRANSITIONS = {"submit", "overdue"}


def replay(request: RefundRequest) -> str:
    """Fold the request's events from nothing, checking each step against the state machine."""
    state = ""
    for event in request.events.order_by("created_at", "id"):
        assert event.from_status == state, (request.pk, event.action, event.from_status, state)
        assert (event.from_status, event.to_status) in ALLOWED_STEPS, (request.pk, event.action)
        state = event.to_status
    return state


def assert_every_request_replays_to_its_state() -> int:
    requests = RefundRequest.objects.prefetch_related("events")
    for request in requests:
        assert replay(request) == request.status, request.pk
    return requests.count()


# Every transition is in the log


@pytest.mark.django_db
def test_every_transition_writes_one_event_with_its_from_and_to(
    alice, market, rita, ralph, sam, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    seen: list[tuple[int, str, str, str]] = []

    def record(sender, instance, name, source, target, **kwargs):
        seen.append((instance.pk, name, str(source), str(target)))

    post_transition.connect(record, sender=RefundRequest)
    try:
        # withdraw
        services.withdraw(pro=alice, request_id=submitted(alice).pk)
        # claim, claim again, release; a claim that runs out; approve → credited
        request = submitted(alice)
        services.claim(reviewer=rita, request_id=request.pk)
        services.claim(reviewer=rita, request_id=request.pk)
        services.release(reviewer=rita, request_id=request.pk)
        services.claim(reviewer=rita, request_id=request.pk)
        services.expire_claims(now=timezone.now() + timedelta(hours=2))
        run_on_commit(capture, services.approve, reviewer=ralph, request_id=request.pk)
        # deny → denied → disputed → overturned → credited
        request = submitted(alice)
        run_on_commit(
            capture,
            services.deny,
            reviewer=rita,
            request_id=request.pk,
            explanation=EXPLANATION,
            guidance=GUIDANCE,
        )
        services.open_dispute(pro=alice, request_id=request.pk, message="Please look again.")
        run_on_commit(capture, services.overturn, agent=sam, request_id=request.pk, note="Agreed.")
        # deny → disputed → upheld → denied
        request = submitted(alice)
        run_on_commit(
            capture,
            services.deny,
            reviewer=rita,
            request_id=request.pk,
            explanation=EXPLANATION,
            guidance=GUIDANCE,
        )
        services.open_dispute(pro=alice, request_id=request.pk, message="Please look again.")
        run_on_commit(
            capture,
            services.uphold,
            agent=sam,
            request_id=request.pk,
            explanation=EXPLANATION,
            guidance=GUIDANCE,
        )
        # approve → undo (within the undo window) → approve again → credited
        policy = settings.REFUND_POLICY
        settings.REFUND_POLICY = {**policy, "UNDO_SECONDS": 60}
        request = submitted(alice)
        run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
        services.undo(reviewer=rita, request_id=request.pk)
        settings.REFUND_POLICY = policy
        run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
        # part of the price → credited
        request = submitted(alice)
        run_on_commit(
            capture,
            services.approve_part,
            reviewer=rita,
            request_id=request.pk,
            share=50,
            reason="Half: the customer answered once.",
        )
        # credited → support reverses the credit (the conversation resumed after it)
        request = resumed(capture, alice, rita)
        run_on_commit(
            capture,
            services.reverse_credit,
            agent=sam,
            request_id=request.pk,
            explanation="The customer hired the pro after the refund.",
        )
        # the pro disputes the reversal → support (not who reversed it) restores the credit
        services.open_reversal_dispute(pro=alice, request_id=request.pk, message="Not this job.")
        sue = StaffFactory(roles=[Role.SUPPORT])
        run_on_commit(
            capture, services.restore_credit, agent=sue, request_id=request.pk, note="Ok."
        )
        # … or keeps the reversal
        request = reversal_disputed(capture, alice, rita, sam)
        run_on_commit(
            capture, services.keep_reversal, agent=sue, request_id=request.pk, explanation="Kept."
        )
        # the peer-rate rule's automatic denial: five quiet peers, and alice with many leads
        for _ in range(5):
            LeadFactory(pro=ProFactory())
        for _ in range(10):
            LeadFactory(pro=alice)
        lead = chatty_lead(alice)
        with capture(execute=True):
            services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
        # a rule's automatic approval: a second lead from the same customer, reported as such
        bob = ProFactory()
        LeadFactory(pro=bob, received_at=timezone.now() - timedelta(days=5))
        twin = LeadFactory(pro=bob)
        with capture(execute=True):
            services.submit_report(pro=bob, lead_id=twin.pk, reason=Reason.DUPLICATE)
        # and an overdue note on a request still open, which is not a transition
        submitted(ProFactory())
        services.sweep_overdue(now=timezone.now() + timedelta(days=2))
    finally:
        post_transition.disconnect(record, sender=RefundRequest)

    names = {name for _, name, _, _ in seen}
    every = {t.name for t in RefundRequest().get_all_status_transitions()}
    assert names == every, f"not exercised: {every - names}"

    for request in RefundRequest.objects.all():
        history = request.events.order_by("created_at", "id")
        events = [e for e in history if e.action not in NOT_TRANSITIONS]
        transitions = [(n, s, t) for pk, n, s, t in seen if pk == request.pk]
        assert len(events) == len(transitions), (request.pk, events, transitions)
        for event, (name, source, target) in zip(events, transitions, strict=True):
            assert event.action in ACTIONS[name], (name, event.action)
            assert (event.from_status, event.to_status) == (source, target)
        assert replay(request) == request.status
        assert list(problems_of(request)) == []
    assert RefundEvent.objects.filter(action="overdue").exists()


# The log cannot be rewritten


@pytest.fixture
def event(alice, db) -> RefundEvent:
    request = submitted(alice)
    return request.events.get()


def test_the_admin_shows_the_log_and_refuses_every_change_even_to_a_superuser(event, root):
    client = Client()
    client.force_login(root)
    before = list(RefundEvent.objects.values())
    change = reverse("admin:refunds_refundevent_change", args=[event.pk])
    delete = reverse("admin:refunds_refundevent_delete", args=[event.pk])

    page = client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="action"' not in html
    assert client.post(change, {"action": "withdraw", "note": "rewritten"}).status_code == 403
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:refunds_refundevent_add")).status_code == 403
    # The list offers no bulk delete either; asking for it anyway does nothing.
    changelist = reverse("admin:refunds_refundevent_changelist")
    assert "delete_selected" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "delete_selected", "_selected_action": [event.pk]})
    assert list(RefundEvent.objects.values()) == before


def test_the_model_refuses_to_change_or_delete_an_event(event):
    event.note = "rewritten"
    with pytest.raises(ImmutableError):
        event.save()
    with pytest.raises(ImmutableError):
        event.delete()
    event.refresh_from_db()
    assert event.note == ""


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger is PostgreSQL's (migration 0005); SQLite relies on the model "
    "and the admin, because Django empties SQLite tables with DELETE",
)
@pytest.mark.parametrize(
    "rewrite",
    [
        lambda e: RefundEvent.objects.filter(pk=e.pk).update(note="rewritten"),
        lambda e: RefundEvent.objects.filter(pk=e.pk).delete(),
        lambda e: connection.cursor().execute(
            "UPDATE refunds_refundevent SET to_status = 'credited' WHERE id = %s", [e.pk]
        ),
        lambda e: connection.cursor().execute(
            "DELETE FROM refunds_refundevent WHERE id = %s", [e.pk]
        ),
    ],
    ids=["queryset update", "queryset delete", "sql update", "sql delete"],
)
def test_the_database_refuses_to_change_or_delete_an_event(event, rewrite):
    refused = pytest.raises(IntegrityError, match="refund events are append-only")
    with refused, transaction.atomic():
        rewrite(event)
    assert RefundEvent.objects.get(pk=event.pk).note == ""


# Replaying the log


@pytest.mark.django_db
def test_the_demo_datas_logs_replay_to_each_requests_state(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert assert_every_request_replays_to_its_state() >= 4
    # Then the worker's stuck-work sweep and a second seed change nothing in the story.
    with django_capture_on_commit_callbacks(execute=True):
        services.resume_stuck(now=timezone.now() + timedelta(hours=1))
        call_command("seed_demo", verbosity=0)
    assert_every_request_replays_to_its_state()


@pytest.mark.django_db(transaction=True)
def test_a_generated_marketplaces_logs_replay_to_each_requests_state():
    call_command("generate_load", leads=500, seed=11, quiet=True, stdout=StringIO())
    count = assert_every_request_replays_to_its_state()
    assert count > 20
    statuses = set(RefundRequest.objects.values_list("status", flat=True))
    assert {Status.SUBMITTED, Status.CREDITED, Status.DENIED} <= statuses
