"""Each staff transition from each state it is allowed from and refused from, and who may run it.

A refusal raises RefundError with a message for the person, and changes nothing: no state,
no decision, no event.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from refunds import services
from refunds.choices import DecisionKind, DisputeStatus, Outcome, Status
from refunds.models import Credit, Decision, RefundEvent, RefundRequest
from tests.factories import RefundRequestFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, disputed, run_on_commit, submitted

ALL = list(Status)
STAFF_DECIDES_FROM = {Status.SUBMITTED, Status.IN_REVIEW}


def _in(status: Status, pro) -> RefundRequest:
    return RefundRequestFactory(lead__pro=pro, status=status)


def _unchanged(request: RefundRequest, status: Status) -> None:
    request.refresh_from_db()
    assert request.status == status
    assert not RefundEvent.objects.filter(request=request).exists()
    assert not Decision.objects.filter(request=request).exists()


def _approve(user, request):
    return services.approve(reviewer=user, request_id=request.pk)


def _deny(user, request):
    return services.deny(
        reviewer=user, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )


def _claim(user, request):
    return services.claim(reviewer=user, request_id=request.pk)


def _overturn(user, request):
    return services.overturn(agent=user, request_id=request.pk, note="We agree after all.")


def _uphold(user, request):
    return services.uphold(
        agent=user, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )


# Claim and release


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.IN_REVIEW])
def test_a_reviewer_claims_an_open_request(status, alice, rita):
    request = _in(status, alice)
    services.claim(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert request.claimed_by == rita
    assert request.claimed_until > timezone.now() + timedelta(minutes=29)
    assert request.events.get().action == "claim"


@pytest.mark.parametrize("status", sorted(set(ALL) - STAFF_DECIDES_FROM))
def test_claim_is_refused_once_a_request_is_not_open(status, alice, rita):
    request = _in(status, alice)
    with pytest.raises(services.RefundError, match="cannot be changed that way"):
        services.claim(reviewer=rita, request_id=request.pk)
    _unchanged(request, status)


def test_claim_is_refused_while_another_reviewer_holds_it(alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    with pytest.raises(services.RefundError, match="ralph@example.test is already reviewing"):
        services.claim(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.claimed_by == ralph


def test_an_expired_claim_can_be_taken_over(alice, rita, ralph):
    request = submitted(alice)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    services.claim(reviewer=ralph, request_id=request.pk, now=an_hour_ago)
    services.claim(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.claimed_by == rita


@pytest.mark.parametrize("who", ["sam", "alice"])
def test_only_reviewers_claim(who, request, alice):
    user = request.getfixturevalue(who)
    refund = submitted(alice)
    with pytest.raises(services.RefundError, match="permission"):
        services.claim(reviewer=user, request_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Status.SUBMITTED


def test_a_reviewer_releases_their_claim(alice, rita):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk)
    services.release(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert request.claimed_by is None
    assert [e.action for e in request.events.all()] == ["submit", "claim", "release"]


@pytest.mark.parametrize("status", sorted(set(ALL) - {Status.IN_REVIEW}))
def test_release_is_refused_unless_in_review(status, alice, rita):
    request = _in(status, alice)
    with pytest.raises(services.RefundError):
        services.release(reviewer=rita, request_id=request.pk)
    _unchanged(request, status)


def test_a_reviewer_cannot_release_someone_elses_live_claim(alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    with pytest.raises(services.RefundError, match="Only ralph@example.test"):
        services.release(reviewer=rita, request_id=request.pk)


# Approve and deny


@pytest.mark.parametrize("status", sorted(STAFF_DECIDES_FROM))
def test_a_reviewer_approves_an_open_request(status, alice, rita):
    request = _in(status, alice)
    decision = services.approve(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert request.decided_at is not None
    assert (decision.outcome, decision.kind, decision.decided_by) == (
        Outcome.APPROVED,
        DecisionKind.REVIEW,
        rita,
    )
    assert request.credit.amount == request.lead.price
    assert request.events.get().action == "approve"


@pytest.mark.parametrize("status", sorted(STAFF_DECIDES_FROM))
def test_a_reviewer_denies_an_open_request_with_explanation_and_guidance(status, alice, rita):
    request = _in(status, alice)
    decision = _deny(rita, request)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert (decision.explanation, decision.guidance) == (EXPLANATION, GUIDANCE)
    assert not Credit.objects.filter(request=request).exists()


@pytest.mark.parametrize("decide", [_approve, _deny], ids=["approve", "deny"])
@pytest.mark.parametrize("status", sorted(set(ALL) - STAFF_DECIDES_FROM))
def test_a_decision_is_refused_once_a_request_is_not_open(decide, status, alice, rita):
    request = _in(status, alice)
    with pytest.raises(services.RefundError, match="cannot be changed that way"):
        decide(rita, request)
    _unchanged(request, status)


@pytest.mark.parametrize("decide", [_approve, _deny], ids=["approve", "deny"])
@pytest.mark.parametrize("who", ["sam", "alice"])
def test_only_reviewers_decide(decide, who, request, alice):
    user = request.getfixturevalue(who)
    refund = _in(Status.SUBMITTED, alice)
    with pytest.raises(services.RefundError, match="permission"):
        decide(user, refund)
    _unchanged(refund, Status.SUBMITTED)


@pytest.mark.parametrize("decide", [_approve, _deny], ids=["approve", "deny"])
def test_a_decision_is_refused_while_another_reviewer_holds_the_claim(decide, alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    with pytest.raises(services.RefundError, match="ralph@example.test is reviewing"):
        decide(rita, request)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_deciding_clears_the_claim(alice, rita):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk)
    services.approve(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert (request.claimed_by, request.claimed_until) == (None, None)


@pytest.mark.parametrize(
    ("explanation", "guidance", "message"),
    [("", GUIDANCE, "Explain"), (EXPLANATION, "  ", "guidance"), ("x" * 4001, GUIDANCE, "under")],
)
def test_a_denial_needs_an_explanation_and_guidance(explanation, guidance, message, alice, rita):
    request = _in(Status.SUBMITTED, alice)
    with pytest.raises(services.RefundError, match=message):
        services.deny(
            reviewer=rita, request_id=request.pk, explanation=explanation, guidance=guidance
        )
    _unchanged(request, Status.SUBMITTED)


def test_a_second_decision_on_the_same_request_is_refused(alice, rita, ralph):
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError):
        services.approve(reviewer=ralph, request_id=request.pk)
    assert Decision.objects.filter(request=request).count() == 1
    assert Credit.objects.filter(request=request).count() == 1


def test_a_superuser_may_decide(alice, root):
    request = _in(Status.SUBMITTED, alice)
    services.approve(reviewer=root, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED


# Bulk deny


def test_bulk_deny_writes_one_decision_and_one_event_per_request(alice, bob, rita):
    requests = [submitted(alice), submitted(bob), _in(Status.IN_REVIEW, bob)]
    denied, refused = services.bulk_deny(
        reviewer=rita,
        request_ids=[r.pk for r in requests],
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    assert sorted(denied) == sorted(r.pk for r in requests)
    assert refused == {}
    for request in requests:
        assert request.decisions.get().explanation == EXPLANATION
        assert request.events.filter(action="deny").count() == 1


def test_bulk_deny_reports_the_requests_it_could_not_deny(alice, rita):
    open_one = submitted(alice)
    closed = _in(Status.CREDITED, alice)
    denied, refused = services.bulk_deny(
        reviewer=rita,
        request_ids=[open_one.pk, closed.pk],
        explanation=EXPLANATION,
        guidance=GUIDANCE,
    )
    assert denied == [open_one.pk]
    assert list(refused) == [closed.pk]
    _unchanged(closed, Status.CREDITED)


# Disputes: overturn and uphold, with four eyes


@pytest.mark.parametrize("resolve", [_overturn, _uphold], ids=["overturn", "uphold"])
@pytest.mark.parametrize("status", sorted(set(ALL) - {Status.DISPUTED}))
def test_resolving_is_refused_unless_disputed(resolve, status, alice, sam):
    request = _in(status, alice)
    with pytest.raises(services.RefundError, match="cannot be changed that way"):
        resolve(sam, request)
    _unchanged(request, status)


def test_support_overturns_a_dispute_with_a_new_approval(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    decision = _overturn(sam, request)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert (decision.outcome, decision.kind, decision.decided_by) == (
        Outcome.APPROVED,
        DecisionKind.DISPUTE,
        sam,
    )
    assert request.dispute.status == DisputeStatus.OVERTURNED
    assert request.dispute.resolution == decision
    assert request.credit.amount == request.lead.price


def test_support_upholds_a_dispute(alice, rita, sam, django_capture_on_commit_callbacks):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    decision = _uphold(sam, request)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED
    assert decision.outcome == Outcome.DENIED
    assert request.dispute.status == DisputeStatus.UPHELD
    assert not Credit.objects.filter(request=request).exists()


@pytest.mark.parametrize("resolve", [_overturn, _uphold], ids=["overturn", "uphold"])
def test_reviewers_cannot_resolve_disputes(
    resolve, alice, rita, ralph, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    with pytest.raises(services.RefundError, match="permission"):
        resolve(ralph, request)
    request.refresh_from_db()
    assert request.status == Status.DISPUTED


@pytest.mark.parametrize("resolve", [_overturn, _uphold], ids=["overturn", "uphold"])
def test_four_eyes_support_cannot_resolve_a_dispute_of_their_own_decision(
    resolve, alice, sue, sam, django_capture_on_commit_callbacks
):
    # sue both reviews and supports: she denied the request, so sam must handle the dispute.
    sue.groups.add(Group.objects.get(name=Role.REVIEWER))
    sue = User.objects.get(pk=sue.pk)  # forget the permissions cached before
    request = disputed(django_capture_on_commit_callbacks, alice, sue)
    with pytest.raises(services.RefundError, match="another member of support"):
        resolve(sue, request)
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    resolve(sam, request)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED


def test_four_eyes_applies_to_superusers_too(alice, root, sam, django_capture_on_commit_callbacks):
    request = disputed(django_capture_on_commit_callbacks, alice, root)
    with pytest.raises(services.RefundError, match="another member of support"):
        _overturn(root, request)
    _overturn(sam, request)


def test_an_overturn_needs_a_note(alice, rita, sam, django_capture_on_commit_callbacks):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    with pytest.raises(services.RefundError, match="note"):
        services.overturn(agent=sam, request_id=request.pk, note="  ")
    request.refresh_from_db()
    assert request.status == Status.DISPUTED


# What the admin shows: allowed_actions agrees with the functions above


def test_allowed_actions_for_a_reviewer_on_a_fresh_request(alice, rita):
    request = submitted(alice)
    assert services.allowed_actions(request, rita) == {"claim", "approve", "approve_part", "deny"}


def test_allowed_actions_after_claiming(alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert services.allowed_actions(request, rita) == {
        "release",
        "approve",
        "approve_part",
        "deny",
    }
    assert services.allowed_actions(request, ralph) == set()


def test_allowed_actions_for_support_and_pros_on_an_open_request(alice, sam):
    request = submitted(alice)
    assert services.allowed_actions(request, sam) == set()
    assert services.allowed_actions(request, alice) == set()


def test_allowed_actions_on_a_dispute(alice, rita, sam, django_capture_on_commit_callbacks):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    assert services.allowed_actions(request, sam) == {"overturn", "uphold"}
    assert services.allowed_actions(request, rita) == set()


def test_worker_transitions_finish_decisions(alice, rita, django_capture_on_commit_callbacks):
    approved = submitted(alice)
    run_on_commit(django_capture_on_commit_callbacks, _approve, rita, approved)
    refused_one = submitted(alice)
    run_on_commit(django_capture_on_commit_callbacks, _deny, rita, refused_one)
    approved.refresh_from_db()
    refused_one.refresh_from_db()
    assert approved.status == Status.CREDITED
    assert refused_one.status == Status.DENIED
    assert [e.action for e in approved.events.all()] == ["submit", "approve", "credit_posted"]
    assert [e.action for e in refused_one.events.all()] == ["submit", "deny", "denial_sent"]
