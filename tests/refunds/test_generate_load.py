"""manage.py generate_load: a consistent, repeatable data set of the requested size."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.utils import timezone

from leads.models import Lead, Message
from refunds import policy, services
from refunds.choices import DecisionKind, Status
from refunds.management.commands.audit_refunds import allowed_steps
from refunds.models import Credit, Decision, Dispute, RefundEvent, RefundRequest

pytestmark = pytest.mark.django_db(transaction=True)


def generate(leads: int, seed: int = 7) -> None:
    call_command("generate_load", leads=leads, seed=seed, quiet=True, stdout=StringIO())


def test_it_creates_the_leads_threads_and_reports_asked_for():
    generate(1_000)
    assert Lead.objects.count() == 1_000
    messages = Message.objects.count()
    assert 5_000 < messages < 12_000  # about eight a thread
    reported = RefundRequest.objects.count()
    assert 40 < reported < 200  # about 8%, plus high-rate pros
    states = set(RefundRequest.objects.values_list("status", flat=True))
    assert {Status.SUBMITTED, Status.CREDITED, Status.DENIED} <= states
    assert RefundRequest.objects.filter(lead__messages__isnull=False).exists()


def test_the_data_passes_the_consistency_audit():
    generate(1_000)
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()


def fingerprint(leads) -> list[tuple]:
    return [
        (
            lead.customer_name,
            lead.price,
            lead.payment_method,
            lead.messages.count(),
            getattr(getattr(lead, "refund_request", None), "status", None),
        )
        for lead in leads
    ]


def test_the_same_seed_gives_the_same_data():
    generate(300, seed=3)
    generate(300, seed=3)  # appended after the first set, from the same random sequence
    leads = list(Lead.objects.order_by("pk").select_related("refund_request"))
    assert len(leads) == 600
    assert fingerprint(leads[:300]) == fingerprint(leads[300:])


def test_it_refuses_a_size_too_small():
    with pytest.raises(CommandError, match="at least 100"):
        generate(10)


def test_the_audit_still_passes_after_the_claim_sweep_runs_later():
    """Claims and every other step are dated before now, so a sweep's events come after them."""
    generate(2_000)
    assert RefundRequest.objects.filter(status=Status.IN_REVIEW).exists()
    released = services.expire_claims(now=timezone.now() + timedelta(hours=1))
    assert released
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()


def test_nothing_is_dated_after_the_moment_it_was_generated():
    generate(1_000)
    done = timezone.now()
    dated = [
        (Lead, "received_at"),
        (Message, "sent_at"),
        (RefundRequest, "submitted_at"),
        (RefundRequest, "decided_at"),
        (RefundEvent, "created_at"),
        (Decision, "decided_at"),
        (Credit, "created_at"),
        (Credit, "posted_at"),
        (Dispute, "opened_at"),
    ]
    for model, name in dated:
        latest = model.objects.aggregate(m=Max(name))["m"]
        assert latest is not None and latest <= done, (model.__name__, name, latest)


def test_every_stored_assessment_reads_back_as_the_policy_wrote_it():
    generate(1_000)
    stored = list(RefundRequest.objects.values_list("assessment", "reason", "lead__received_at"))
    assert stored
    for data, reason, received in stored:
        assessment = policy.Assessment.from_json(data)
        assert assessment.as_json() == data
        assert assessment.reason == reason
        assert assessment.deadline == policy.report_deadline(received, policy.Params())


def test_high_rate_pros_requests_are_denied_automatically_as_the_policy_says():
    generate(3_000, seed=5)
    for request in RefundRequest.objects.prefetch_related("decisions"):
        automatic = policy.Assessment.from_json(request.assessment).peers.auto_deny
        kinds = {d.kind for d in request.decisions.all()}
        if automatic and not request.lead.marketplace_id.startswith("load-long-"):
            assert request.status == Status.DENIED
            assert kinds == {DecisionKind.AUTOMATIC}
        else:
            assert DecisionKind.AUTOMATIC not in kinds


def test_every_step_in_the_event_log_is_one_the_audit_allows():
    generate(1_000)
    steps = set(RefundEvent.objects.values_list("from_status", "to_status").distinct())
    assert steps
    assert steps <= allowed_steps()


def test_the_rules_decide_some_requests_as_they_would_at_submission():
    generate(5_000, seed=2)
    by_rule = RefundRequest.objects.filter(decisions__kind=DecisionKind.AUTO_APPROVAL)
    assert by_rule.exists()
    for request in by_rule:
        verdict = policy.Assessment.from_json(request.assessment).rule
        assert verdict.applied
        assert request.status == Status.CREDITED
        assert request.decisions.get().rule == verdict.rule
    for request in RefundRequest.objects.exclude(pk__in=by_rule):
        verdict = policy.Assessment.from_json(request.assessment).rule
        if verdict is not None and verdict.applied:
            assert request.lead.marketplace_id.startswith("load-long-")  # kept open on purpose
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()
