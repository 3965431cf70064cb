"""Nobody decides their own refund request: paula is a pro who was also given the reviewer and
support roles. Every road refuses her on her own request and changes nothing; on anyone
else's she works as usual."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from refunds import services
from refunds.choices import DecisionKind, Outcome, Reason, Status
from refunds.models import Decision, RefundEvent, RefundRequest, SpotCheck
from tests.factories import LeadFactory, ProFactory, RefundRequestFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, disputed, run_on_commit, submitted

QUEUE = reverse("admin:refunds_refundrequest_changelist")
START = reverse("admin:refunds_refundrequest_start")
OWN = "This is your own refund request"


@pytest.fixture
def paula(market):
    """A pro who is also on the review and support teams."""
    user = ProFactory(email="paula@example.test", is_staff=True)
    user.groups.add(
        Group.objects.get(name=Role.REVIEWER.value), Group.objects.get(name=Role.SUPPORT.value)
    )
    return user


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page(pk: int) -> str:
    return reverse("admin:refunds_refundrequest_change", args=[pk])


def unchanged(request: RefundRequest, status: str, events: int) -> None:
    request.refresh_from_db()
    assert request.status == status
    assert request.claimed_by is None
    assert RefundEvent.objects.filter(request=request).count() == events
    assert not Decision.objects.filter(request=request, decided_by__email="paula@example.test")


# The services


@pytest.mark.parametrize(
    "command",
    [
        lambda user, pk: services.claim(reviewer=user, request_id=pk),
        lambda user, pk: services.approve(reviewer=user, request_id=pk),
        lambda user, pk: services.approve_part(
            reviewer=user, request_id=pk, share=50, reason="Half."
        ),
        lambda user, pk: services.deny(
            reviewer=user, request_id=pk, explanation=EXPLANATION, guidance=GUIDANCE
        ),
    ],
    ids=["claim", "approve", "approve_part", "deny"],
)
def test_the_services_refuse_a_decision_on_ones_own_request(paula, command):
    request = submitted(paula)
    with pytest.raises(services.RefundError, match=OWN):
        command(paula, request.pk)
    unchanged(request, Status.SUBMITTED, 1)
    assert not hasattr(RefundRequest.objects.get(pk=request.pk), "credit")


@pytest.mark.parametrize(
    "command",
    [
        lambda user, pk: services.overturn(agent=user, request_id=pk, note="Fair point."),
        lambda user, pk: services.uphold(
            agent=user, request_id=pk, explanation=EXPLANATION, guidance=GUIDANCE
        ),
    ],
    ids=["overturn", "uphold"],
)
def test_the_services_refuse_to_resolve_a_dispute_of_ones_own(
    paula, rita, command, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, paula, rita)
    events = request.events.count()
    with pytest.raises(services.RefundError, match=OWN):
        command(paula, request.pk)
    unchanged(request, Status.DISPUTED, events)


def test_undo_is_refused_on_ones_own_request(paula, settings):
    """A decision paula recorded on her own request before she became a pro stays put."""
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    request = RefundRequestFactory(lead=LeadFactory(pro=paula), status=Status.REVIEWED)
    Decision.objects.create(
        request=request,
        outcome=Outcome.APPROVED,
        kind=DecisionKind.REVIEW,
        decided_by=paula,
        decided_at=timezone.now(),
    )
    with pytest.raises(services.RefundError, match=OWN):
        services.undo(reviewer=paula, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert request.decisions.get().undone_at is None


def test_she_still_decides_other_pros_requests(paula, alice):
    request = submitted(alice)
    decision = services.approve(reviewer=paula, request_id=request.pk)
    assert decision.decided_by == paula


# The request page's buttons


def test_the_request_page_shows_no_buttons_and_says_why(client_for, paula):
    request = submitted(paula)
    response = client_for(paula).get(page(request.pk))
    assert response.status_code == 200
    assert response.context["bar"] == []
    assert "This is your own refund request: another member of staff must handle it." in (
        response.text
    )
    assert 'name="transition"' not in response.text


@pytest.mark.parametrize(
    ("data", "verb"),
    [
        ({"transition": "claim"}, "Claim"),
        ({"transition": "approve"}, "Approve"),
        (
            {
                "transition": "approve_part",
                "approve_part-share": "50",
                "approve_part-reason": "Half.",
            },
            "Approve part",
        ),
        (
            {"transition": "deny", "deny-explanation": EXPLANATION, "deny-guidance": GUIDANCE},
            "Deny",
        ),
    ],
    ids=["claim", "approve", "approve_part", "deny"],
)
def test_pressing_a_button_anyway_is_refused_with_a_message(client_for, paula, data, verb):
    request = submitted(paula)
    response = client_for(paula).post(page(request.pk), data)
    assert response.status_code == 302
    assert said(response) == [
        f"{verb} refused: This is your own refund request: another member of staff must "
        "handle it, and nothing was changed."
    ]
    unchanged(request, Status.SUBMITTED, 1)


# Bulk actions in the queue


def test_bulk_deny_skips_her_own_request_and_denies_the_rest(client_for, paula, alice):
    own, other = submitted(paula), submitted(alice)
    response = client_for(paula).post(
        QUEUE,
        {
            "action": "bulk_deny",
            "_selected_action": [own.pk, other.pk],
            "apply": "1",
            "explanation": EXPLANATION,
            "guidance": GUIDANCE,
        },
    )
    assert response.status_code == 302
    assert said(response) == [
        f"Denied 1 request: #{other.pk}",
        f"#{own.pk} not denied: This is your own refund request: another member of staff must "
        "handle it, and nothing was changed.",
    ]
    unchanged(own, Status.SUBMITTED, 1)
    other.refresh_from_db()
    assert other.status == Status.REVIEWED


# The keyboard path


def test_start_reviewing_passes_over_her_own_request(client_for, paula, alice):
    own = submitted(paula, received_at=timezone.now() - timedelta(days=5))
    other = submitted(alice)
    response = client_for(paula).post(START, {"_changelist_filters": ""})
    assert response.url == page(other.pk)
    unchanged(own, Status.SUBMITTED, 1)


def test_start_reviewing_with_only_her_own_request_finds_nothing(client_for, paula):
    own = submitted(paula)
    response = client_for(paula).post(START, {"_changelist_filters": ""})
    assert response.url == QUEUE
    assert said(response) == ["Nothing to review: no open request is free in this queue."]
    unchanged(own, Status.SUBMITTED, 1)


def test_after_a_decision_the_next_request_is_never_her_own(client_for, paula, alice, bob):
    first = submitted(alice, received_at=timezone.now() - timedelta(days=6))
    own = submitted(paula, received_at=timezone.now() - timedelta(days=5))
    last = submitted(bob)
    client = client_for(paula)
    client.post(page(first.pk), {"transition": "claim"})
    response = client.post(page(first.pk), {"transition": "approve"})
    assert response.url == page(last.pk)
    unchanged(own, Status.SUBMITTED, 1)


# Disputes


@pytest.mark.parametrize(
    ("data", "verb"),
    [
        ({"transition": "overturn", "overturn-note": "Fair point."}, "Overturn"),
        (
            {
                "transition": "uphold",
                "uphold-explanation": EXPLANATION,
                "uphold-guidance": GUIDANCE,
            },
            "Uphold",
        ),
    ],
    ids=["overturn", "uphold"],
)
def test_the_disputes_queue_refuses_her_own_dispute(
    client_for, paula, rita, data, verb, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, paula, rita)
    events = request.events.count()
    url = reverse("admin:refunds_dispute_change", args=[request.dispute.pk])
    client = client_for(paula)
    shown = client.get(url)
    assert shown.context["bar"] == []
    assert "This is your own refund request" in shown.text
    response = client.post(url, data)
    assert response.status_code == 302
    assert said(response) == [
        f"{verb} refused: This is your own refund request: another member of staff must "
        "handle it, and nothing was changed."
    ]
    unchanged(request, Status.DISPUTED, events)


# Spot checks of automatic approvals


def test_she_does_not_spot_check_the_automatic_approval_of_her_own_request(
    client_for, paula, settings, django_capture_on_commit_callbacks
):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "AUTO_APPROVE_SAMPLE_PERCENT": 100}
    first = LeadFactory(pro=paula, received_at=timezone.now() - timedelta(days=6))
    lead = LeadFactory(pro=paula, customer_phone=first.customer_phone)
    request = run_on_commit(
        django_capture_on_commit_callbacks,
        services.submit_report,
        pro=paula,
        lead_id=lead.pk,
        reason=Reason.DUPLICATE,
    )
    check = SpotCheck.objects.get(decision__request=request)
    url = reverse("admin:refunds_spotcheck_change", args=[check.pk])
    client = client_for(paula)
    assert 'name="verdict"' not in client.get(url).text
    response = client.post(url, {"verdict": "agree", "note": ""})
    assert said(response) == [
        "Spot check refused: This is your own refund request: another member of staff must "
        "handle it, and nothing was changed."
    ]
    check.refresh_from_db()
    assert check.is_waiting
