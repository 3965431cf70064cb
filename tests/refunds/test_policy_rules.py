"""policy.rules: each automatic-approval rule and guard at its edges, with plain facts."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunds import policy
from refunds.choices import Reason
from refunds.policy import ReportFacts, automatic_approval
from refunds.policy.rules import DUPLICATE, OUTSIDE_SERVICES, UNREACHABLE_CONTACT

P = policy.Params()
DUPLICATE_REPORT = ReportFacts(
    reason=Reason.DUPLICATE, price=Decimal("24.50"), earlier_duplicates=(7,)
)
WRONG_JOB_REPORT = ReportFacts(
    reason=Reason.WRONG_JOB, price=Decimal("24.50"), category="Roofing", category_offered=False
)
UNREACHABLE_REPORT = ReportFacts(
    reason=Reason.INVALID_CONTACT,
    price=Decimal("24.50"),
    phone_given=True,
    phone_valid=True,
    phone_outcomes=("wrong_number", "disconnected"),
    email_given=False,
)


def with_modes(**modes) -> policy.Params:
    return replace(P, auto_approve_modes={**P.auto_approve_modes, **modes})


# Each rule


def test_a_duplicate_with_an_earlier_unrefunded_lead_is_approved():
    verdict = automatic_approval(DUPLICATE_REPORT, P)
    assert verdict.rule == DUPLICATE
    assert verdict.applied
    assert "lead #7" in verdict.why
    assert verdict.facts["earlier_leads"] == [7]


def test_a_duplicate_without_an_earlier_lead_is_left_to_a_person():
    verdict = automatic_approval(replace(DUPLICATE_REPORT, earlier_duplicates=()), P)
    assert verdict.rule == DUPLICATE
    assert not verdict.applies
    assert not verdict.applied


def test_a_wrong_job_outside_the_pros_categories_is_approved():
    verdict = automatic_approval(WRONG_JOB_REPORT, P)
    assert verdict.rule == OUTSIDE_SERVICES and verdict.applied
    assert "Roofing" in verdict.why


def test_a_wrong_job_in_a_category_the_pro_offers_is_not():
    verdict = automatic_approval(replace(WRONG_JOB_REPORT, category_offered=True), P)
    assert not verdict.applies


def test_unreachable_contact_is_suggested_by_default_never_applied():
    verdict = automatic_approval(UNREACHABLE_REPORT, P)
    assert verdict.rule == UNREACHABLE_CONTACT
    assert verdict.applies and verdict.suggested
    assert not verdict.applied


def test_unreachable_contact_applies_when_switched_on():
    assert automatic_approval(UNREACHABLE_REPORT, with_modes(unreachable_contact="on")).applied


def test_an_invalid_phone_counts_as_unreachable_without_any_call():
    facts = replace(UNREACHABLE_REPORT, phone_valid=False, phone_outcomes=())
    assert automatic_approval(facts, P).applies


def test_one_call_that_reached_someone_means_the_phone_may_work():
    facts = replace(UNREACHABLE_REPORT, phone_outcomes=("wrong_number", "answered"))
    verdict = automatic_approval(facts, P)
    assert not verdict.applies
    assert "phone" in verdict.why


def test_a_valid_phone_never_called_may_work():
    facts = replace(UNREACHABLE_REPORT, phone_outcomes=())
    assert not automatic_approval(facts, P).applies


def test_a_valid_email_means_the_customer_may_be_reached():
    facts = replace(UNREACHABLE_REPORT, email_given=True, email_valid=True)
    assert not automatic_approval(facts, P).applies
    invalid = replace(UNREACHABLE_REPORT, email_given=True, email_valid=False)
    assert automatic_approval(invalid, P).applies


def test_a_customer_who_wrote_in_the_thread_was_reachable():
    facts = replace(UNREACHABLE_REPORT, customer_wrote=True)
    assert not automatic_approval(facts, P).applies


@pytest.mark.parametrize("reason", [Reason.HIRED_BEFORE_CONTACT, Reason.SPAM])
def test_no_rule_speaks_for_the_other_reasons(reason):
    assert automatic_approval(replace(DUPLICATE_REPORT, reason=reason), P) is None


def test_a_rule_switched_off_says_nothing():
    assert automatic_approval(DUPLICATE_REPORT, with_modes(duplicate="off")) is None


def test_a_rule_in_suggest_mode_shows_but_does_not_apply():
    verdict = automatic_approval(DUPLICATE_REPORT, with_modes(duplicate="suggest"))
    assert verdict.suggested and not verdict.applied


# The guards


def test_the_peer_refund_rate_denial_wins_over_every_rule():
    for facts in (DUPLICATE_REPORT, WRONG_JOB_REPORT, UNREACHABLE_REPORT):
        assert automatic_approval(replace(facts, auto_denied=True), P) is None


def test_a_customer_who_wrote_after_the_first_contact_holds_unreachable_contact():
    facts = replace(UNREACHABLE_REPORT, customer_wrote_after_first_contact=True)
    verdict = automatic_approval(facts, with_modes(unreachable_contact="on"))
    assert not verdict.applied
    assert "after the pro's first contact" in verdict.held_by


def test_the_price_cap_is_inclusive():
    at_cap = replace(DUPLICATE_REPORT, price=P.auto_approve_max_price)
    assert automatic_approval(at_cap, P).applied
    above = replace(DUPLICATE_REPORT, price=P.auto_approve_max_price + Decimal("0.01"))
    verdict = automatic_approval(above, P)
    assert not verdict.applied and "price" in verdict.held_by


def test_the_per_pro_cap_holds_the_one_after_the_last_allowed():
    allowed = replace(DUPLICATE_REPORT, auto_approvals_30d=P.auto_approve_per_pro_30d - 1)
    assert automatic_approval(allowed, P).applied
    over = replace(DUPLICATE_REPORT, auto_approvals_30d=P.auto_approve_per_pro_30d)
    verdict = automatic_approval(over, P)
    assert not verdict.applied and "30 days" in verdict.held_by


def test_a_verdict_reads_back_from_its_stored_form():
    verdict = automatic_approval(WRONG_JOB_REPORT, P)
    assert policy.RuleVerdict.from_json(verdict.as_json()) == verdict


@given(
    reason=st.sampled_from(Reason.values),
    price=st.decimals(min_value=0, max_value=1000, places=2),
    count=st.integers(min_value=0, max_value=20),
    denied=st.booleans(),
    offered=st.booleans(),
    earlier=st.lists(st.integers(min_value=1), max_size=3),
)
def test_nothing_is_ever_applied_past_a_guard(reason, price, count, denied, offered, earlier):
    facts = ReportFacts(
        reason=reason,
        price=price,
        earlier_duplicates=tuple(earlier),
        category_offered=offered,
        auto_denied=denied,
        auto_approvals_30d=count,
    )
    verdict = automatic_approval(facts, P)
    if verdict is not None and verdict.applied:
        assert not denied
        assert price <= P.auto_approve_max_price
        assert count < P.auto_approve_per_pro_30d
