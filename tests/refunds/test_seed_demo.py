"""manage.py seed_demo loads every role and every refund state, a queue to review, and leads
the automatic rules decide; a second run adds nothing."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from leads.models import Lead
from refunds import services
from refunds.choices import DecisionKind, Reason, Status
from refunds.models import Decision, RefundRequest

pytestmark = pytest.mark.django_db

LOGINS = [
    "pro@demo.test",
    "pro2@demo.test",
    "reviewer@demo.test",
    "reviewer2@demo.test",
    "support@demo.test",
    "admin@demo.test",
]


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("accounts", "leads", "refunds")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def test_a_second_run_changes_nothing(seeded):
    before = row_counts()
    call_command("seed_demo", verbosity=0)
    assert row_counts() == before


def test_every_demo_login_signs_in(seeded):
    for email in LOGINS:
        assert authenticate(email=email, password="demo-password") is not None, email
    assert User.objects.get(email="admin@demo.test").is_superuser
    assert User.objects.get(email="reviewer@demo.test").is_reviewer
    assert User.objects.get(email="support@demo.test").is_support


def test_the_pro_has_leads_of_every_age_and_state(seeded):
    pro = User.objects.get(email="pro@demo.test")
    now = timezone.now()
    ages = sorted((now - lead.received_at).days for lead in Lead.objects.filter(pro=pro))
    assert 0 in ages and 3 in ages and 13 in ages and 20 in ages
    assert not services.reportable(Lead.objects.get(marketplace_id="demo-pro-too-old"), now)
    assert services.reportable(Lead.objects.get(marketplace_id="demo-pro-hired-already"), now)

    statuses = set(RefundRequest.objects.filter(pro=pro).values_list("status", flat=True))
    assert statuses == {Status.SUBMITTED, Status.DENIED, Status.CREDITED}

    three_days = Lead.objects.get(marketplace_id="demo-pro-three-days")
    assert {a.channel for a in three_days.contact_attempts.all()} == {"message", "phone"}
    assert three_days.messages.count() >= 4
    hired = Lead.objects.get(marketplace_id="demo-pro-hired-already")
    assert hired.messages.filter(body__icontains="already hired").exists()


def test_the_denied_request_is_disputable_and_the_credit_was_paid(seeded):
    denied = RefundRequest.objects.get(lead__marketplace_id="demo-pro-denied")
    assert denied.decisions.latest().notice is not None
    assert not hasattr(denied, "dispute")
    credited = RefundRequest.objects.get(lead__marketplace_id="demo-pro-credited")
    assert credited.credit.ledger_entry.amount == credited.lead.price
    # Sandra wrote again after the credit and the pro answered: support's list shows it.
    assert services.conversation_resumed(credited)


def test_one_request_was_credited_in_part_and_may_be_disputed(seeded):
    request = RefundRequest.objects.get(lead__marketplace_id="demo-pro-part-credit")
    assert request.status == Status.CREDITED
    credit = request.credit
    assert credit.is_partial and credit.amount == Decimal("12.25")
    assert request.lead.price == Decimal("24.50")
    assert credit.ledger_entry.amount == Decimal("12.25")
    assert services.disputable(request, request.decisions.latest())


def test_reviewers_asked_two_customers_and_one_answered(seeded):
    from refunds.models import CustomerQuestion

    questions = {
        q.request.lead.marketplace_id: q
        for q in CustomerQuestion.objects.select_related("request__lead", "answer")
    }
    assert set(questions) == {"demo-peer1-wrong-number", "demo-pro2-garage-door"}
    answered = questions["demo-peer1-wrong-number"]
    assert answered.answer is not None and "typed my number wrong" in answered.answer.body
    assert answered.asked_at < answered.answer.sent_at < timezone.now()
    assert questions["demo-pro2-garage-door"].answer is None
    for question in questions.values():
        assert question.request.is_open
        assert question.request.events.filter(action="ask_customer").exists()


def test_the_market_has_enough_peers_for_comparison(seeded):
    waiting = RefundRequest.objects.get(lead__marketplace_id="demo-pro-waiting-review")
    peers = waiting.assessment["peers"]
    assert peers["comparable"] is True
    assert peers["auto_deny"] is False
    assert peers["peers"] >= 5
    assert User.objects.get(email="pro2@demo.test").leads.exists()


def test_seeded_contact_details_are_stored_as_the_api_stores_them(seeded):
    """E.164 numbers and lower-case emails, so duplicates match imported leads."""
    leads = Lead.objects.exclude(customer_phone="")
    assert leads.exists()
    for lead in leads:
        assert lead.customer_phone.startswith("+") and lead.customer_phone[1:].isdigit()
        assert lead.phone_valid is True
        assert lead.customer_email == lead.customer_email.lower()


def test_support_finds_one_credit_to_send_again(seeded):
    stuck = list(services.stuck_credits())
    assert len(stuck) == 1
    assert stuck[0].method == "card" and "card issuer" in stuck[0].last_error
    assert stuck[0].request.status == Status.REVIEWED


# The reviewers' queue


def open_requests():
    return RefundRequest.objects.filter(status=Status.SUBMITTED, claimed_by__isnull=True)


def test_the_queue_holds_reports_from_several_pros_for_several_reasons(seeded):
    queue = open_requests()
    assert queue.count() >= 8
    assert len(set(queue.values_list("reason", flat=True))) >= 4
    pros = set(queue.values_list("pro__email", flat=True))
    assert len(pros) >= 3
    assert {"pro@demo.test", "pro2@demo.test"} <= pros
    # Submitted hours apart within the last day, so each shows a different time left.
    now = timezone.now()
    assert len(set(queue.values_list("due_at", flat=True))) == queue.count()
    for request in queue:
        assert now - timedelta(hours=20) <= request.submitted_at <= now


def test_no_rule_decides_the_queued_reports(seeded):
    for request in open_requests():
        assessed = request.assessed
        assert not request.decisions.exists()
        assert assessed.peers.auto_deny is False
        assert assessed.rule is None or not assessed.rule.applies, request.lead.marketplace_id


def test_each_queued_lead_has_a_thread_written_before_the_report(seeded):
    for request in open_requests():
        lead = request.lead
        assert lead.customer_name and lead.request_text
        assert lead.messages.count() >= 2 and lead.contact_attempts.exists()
        # Only the customer's answer to a reviewer's question came after the report.
        later = lead.messages.filter(sent_at__gt=request.submitted_at)
        question = getattr(request, "customer_question", None)
        assert list(later) == ([question.answer] if question and question.answer else [])
        assert not lead.contact_attempts.filter(attempted_at__gt=request.submitted_at).exists()
        assert services.reportable(lead, request.submitted_at)


# The first pro's leads that an automatic rule decides once reported

RULE_LEADS = {
    "demo-pro-dup-twin": Reason.DUPLICATE,
    "demo-pro-roofing": Reason.WRONG_JOB,
    "demo-pro-unreachable": Reason.INVALID_CONTACT,
}


@pytest.fixture
def pro(seeded):
    return User.objects.get(email="pro@demo.test")


def report(capture, pro, marketplace_id) -> RefundRequest:
    """The pro reports the lead, and the worker runs what the report queued."""
    lead = Lead.objects.get(marketplace_id=marketplace_id)
    with capture(execute=True):
        request = services.submit_report(
            pro=pro, lead_id=lead.pk, reason=RULE_LEADS[marketplace_id], details="From the demo."
        )
    request.refresh_from_db()
    return request


def test_the_rule_leads_are_recent_unreported_and_cheap(pro):
    now = timezone.now()
    for marketplace_id in RULE_LEADS:
        lead = Lead.objects.get(marketplace_id=marketplace_id)
        assert lead.pro == pro
        assert not RefundRequest.objects.filter(lead=lead).exists()
        assert timedelta(days=1) <= now - lead.received_at <= timedelta(days=3)
        assert services.reportable(lead, now)
        assert lead.price <= Decimal(settings.REFUND_POLICY["AUTO_APPROVE_MAX_PRICE"])
    # The demo leaves the pro's automatic approvals for whoever tries it.
    assert not Decision.objects.filter(kind=DecisionKind.AUTO_APPROVAL, request__pro=pro).exists()


def test_reporting_the_duplicate_credits_it_automatically(pro, django_capture_on_commit_callbacks):
    request = report(django_capture_on_commit_callbacks, pro, "demo-pro-dup-twin")
    assert request.status == Status.CREDITED
    decision = request.decisions.get()
    assert decision.kind == DecisionKind.AUTO_APPROVAL
    assert decision.rule == "duplicate"
    first = Lead.objects.get(marketplace_id="demo-pro-dup-first")
    assert decision.facts["earlier_leads"] == [first.pk]


def test_reporting_the_roofing_lead_credits_it_automatically(
    pro, django_capture_on_commit_callbacks
):
    request = report(django_capture_on_commit_callbacks, pro, "demo-pro-roofing")
    assert request.status == Status.CREDITED
    decision = request.decisions.get()
    assert decision.kind == DecisionKind.AUTO_APPROVAL
    assert decision.rule == "outside_services"


def test_reporting_the_unreachable_lead_leaves_a_suggestion_for_a_reviewer(
    pro, django_capture_on_commit_callbacks
):
    request = report(django_capture_on_commit_callbacks, pro, "demo-pro-unreachable")
    assert request.status == Status.SUBMITTED
    assert not request.decisions.exists()
    assert request.assessed.rule.rule == "unreachable_contact"
    assert request.assessed.rule.suggested


def test_all_three_reported_in_a_row_stay_within_the_peer_limit(
    pro, django_capture_on_commit_callbacks
):
    """However a demo goes, the pro's refund rate never trips the peer rule on these."""
    statuses = []
    for marketplace_id in RULE_LEADS:
        request = report(django_capture_on_commit_callbacks, pro, marketplace_id)
        assert request.assessed.peers.comparable
        assert not request.assessed.peers.auto_deny
        statuses.append(request.status)
    assert statuses == [Status.CREDITED, Status.CREDITED, Status.SUBMITTED]
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()


# Weeks of history for the analytics pages


def test_a_second_market_has_five_weeks_of_decided_history(seeded):
    now = timezone.now()
    history = RefundRequest.objects.filter(market__name="Denver, CO")
    assert history.count() >= 40
    days = {r.submitted_at.date() for r in history}
    assert min(days) <= (now - timedelta(days=28)).date() and len(days) >= 20
    assert not history.filter(status__in=[Status.SUBMITTED, Status.DISPUTED]).exists()
    late = [r for r in history if r.decided_at - r.submitted_at > timedelta(hours=24)]
    assert late and len(late) < history.count() / 4
    kinds = set(Decision.objects.filter(request__in=history).values_list("kind", flat=True))
    assert {DecisionKind.REVIEW, DecisionKind.AUTO_APPROVAL, DecisionKind.DISPUTE} <= kinds
    assert {Status.CREDITED, Status.DENIED} <= set(history.values_list("status", flat=True))


def test_the_history_is_rolled_up_for_the_analytics(seeded):
    from refunds.analytics import promise
    from refunds.analytics.period import period_from
    from refunds.models import RollupDay

    now = timezone.now()
    assert RollupDay.objects.filter(day=(now - timedelta(days=2)).date()).exists()
    period, _ = period_from({"range": "30"}, now)
    assert len(promise.rolled_up_days(period, now)) >= 28
    page = promise.build(period, now)
    [[decided, median, p95]] = page.table("decision_time").rows
    assert decided >= 20 and 0 < float(median) < float(p95)
