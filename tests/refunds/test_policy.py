"""refunds/policy/: each rule at its edges, with property-based tests where they fit."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunds import policy
from refunds.choices import Reason
from refunds.policy import MESSAGE, PHONE, Attempt, Params

P = Params()
RECEIVED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


# The report window


def test_the_window_is_open_at_exactly_fourteen_days():
    assert policy.window_open(RECEIVED, RECEIVED + timedelta(days=14), P)


def test_the_window_is_closed_a_second_after_fourteen_days():
    assert not policy.window_open(RECEIVED, RECEIVED + timedelta(days=14, seconds=1), P)


def test_the_window_follows_its_parameter():
    assert not policy.window_open(
        RECEIVED, RECEIVED + timedelta(days=8), Params(report_window_days=7)
    )


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
def test_the_window_is_open_exactly_until_the_deadline(age):
    now = RECEIVED + age
    assert policy.window_open(RECEIVED, now, P) == (now <= policy.report_deadline(RECEIVED, P))


def test_a_review_is_due_a_day_after_submission():
    assert policy.review_due(RECEIVED, P) == RECEIVED + timedelta(hours=24)


# Reasons


def test_exactly_the_five_reasons_are_eligible():
    assert len(Reason.values) == 5
    for value in Reason.values:
        assert policy.is_eligible_reason(value)
    for value in ("no_reply", "changed_mind", "", "WRONG_JOB"):
        assert not policy.is_eligible_reason(value)


def test_contact_effort_is_moot_for_spam_and_duplicates():
    assert not policy.contact_effort_matters(Reason.SPAM)
    assert not policy.contact_effort_matters(Reason.DUPLICATE)
    assert policy.contact_effort_matters(Reason.WRONG_JOB)
    assert policy.contact_effort_matters(Reason.INVALID_CONTACT)
    assert policy.contact_effort_matters(Reason.HIRED_BEFORE_CONTACT)


def test_the_not_eligible_list_names_the_window():
    cases = policy.not_eligible_cases(Params(report_window_days=10))
    assert len(cases) == 6
    assert "10 days" in cases[-1]


# Contact effort


def at(hours: float) -> datetime:
    return RECEIVED + timedelta(hours=hours)


def test_two_attempts_on_every_channel_a_day_apart_meet_the_policy():
    effort = policy.assess_contact_effort(
        [Attempt(MESSAGE, at(0)), Attempt(PHONE, at(1))], {MESSAGE, PHONE}, at(25), P
    )
    assert effort.meets_policy
    assert effort.missing == []
    assert effort.hours_since_first == 25.0


def test_one_attempt_is_not_enough():
    effort = policy.assess_contact_effort([Attempt(MESSAGE, at(0))], {MESSAGE}, at(48), P)
    assert not effort.enough_attempts
    assert not effort.meets_policy
    assert effort.missing == ["Make at least 2 contact attempts (1 so far)."]


def test_with_only_in_app_messaging_available_messages_alone_are_enough():
    effort = policy.assess_contact_effort(
        [Attempt(MESSAGE, at(0)), Attempt(MESSAGE, at(5))], {MESSAGE}, at(30), P
    )
    assert effort.channels_available == [MESSAGE]
    assert effort.meets_policy


def test_an_unused_phone_number_is_missing():
    effort = policy.assess_contact_effort(
        [Attempt(MESSAGE, at(0)), Attempt(MESSAGE, at(5))], {MESSAGE, PHONE}, at(30), P
    )
    assert not effort.all_channels_used
    assert effort.missing == ["Try the customer by phone call."]


def test_in_app_messaging_is_always_available():
    effort = policy.assess_contact_effort([Attempt(PHONE, at(0))], set(), at(30), P)
    assert effort.channels_available == [MESSAGE]
    assert effort.channels_used == []
    assert not effort.all_channels_used


def test_the_first_attempt_must_be_a_day_old():
    attempts = [Attempt(MESSAGE, at(0)), Attempt(PHONE, at(1))]
    assert not policy.assess_contact_effort(attempts, {MESSAGE, PHONE}, at(23.9), P).meets_policy
    assert policy.assess_contact_effort(attempts, {MESSAGE, PHONE}, at(24), P).meets_policy


def test_attempts_after_the_request_do_not_count():
    effort = policy.assess_contact_effort(
        [Attempt(MESSAGE, at(0)), Attempt(PHONE, at(30))], {MESSAGE, PHONE}, at(25), P
    )
    assert effort.attempts == 1
    assert not effort.meets_policy


def test_no_attempts_at_all():
    effort = policy.assess_contact_effort([], {MESSAGE, PHONE}, at(100), P)
    assert effort.attempts == 0
    assert effort.hours_since_first is None
    assert len(effort.missing) == 4


attempt_lists = st.lists(
    st.builds(
        Attempt,
        channel=st.sampled_from([MESSAGE, PHONE]),
        at=st.integers(min_value=0, max_value=400).map(lambda h: at(h)),
    ),
    max_size=8,
)


@given(attempt_lists, st.booleans(), st.integers(min_value=0, max_value=400))
def test_meeting_the_policy_means_nothing_is_missing(attempts, has_phone, now_hours):
    channels = {MESSAGE, PHONE} if has_phone else {MESSAGE}
    effort = policy.assess_contact_effort(attempts, channels, at(now_hours), P)
    assert effort.meets_policy == (effort.missing == [])
    assert effort.attempts <= len(attempts)
    assert set(effort.channels_used) <= set(effort.channels_available)


@given(attempt_lists, st.integers(min_value=0, max_value=400))
def test_more_attempts_never_make_effort_worse(attempts, now_hours):
    channels = {MESSAGE, PHONE}
    before = policy.assess_contact_effort(attempts, channels, at(now_hours), P)
    after = policy.assess_contact_effort(
        [*attempts, Attempt(PHONE, at(0))], channels, at(now_hours), P
    )
    assert after.meets_policy or not before.meets_policy


# Peer refund rate


PEERS = [0.0, 0.05, 0.1, 0.1, 0.15]


def test_a_market_too_small_is_not_compared():
    result = policy.compare_with_peers(9, 10, PEERS[:4], P)
    assert not result.comparable
    assert not result.auto_deny
    assert "Too few peers" in result.why


def test_a_pro_with_few_leads_is_not_compared():
    result = policy.compare_with_peers(9, 9, PEERS * 3, P)
    assert not result.comparable and not result.auto_deny
    assert "Too few leads" in result.why


def test_the_threshold_is_twice_the_median_or_the_90th_percentile():
    result = policy.compare_with_peers(2, 10, PEERS, P)
    assert result.market_median == 0.1
    assert result.market_percentile == pytest.approx(0.13)
    assert result.threshold == pytest.approx(0.2)
    assert not result.auto_deny


def test_the_percentile_wins_when_the_median_is_zero():
    peers = [0.0, 0.0, 0.0, 0.0, 0.5]
    result = policy.compare_with_peers(4, 10, peers, P)
    assert result.market_median == 0.0
    assert result.threshold == pytest.approx(0.3)
    assert result.auto_deny


def test_a_rate_exactly_at_the_threshold_is_not_denied():
    assert not policy.compare_with_peers(2, 10, PEERS, P).auto_deny
    assert policy.compare_with_peers(3, 10, PEERS, P).auto_deny


@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
    st.lists(st.floats(min_value=0, max_value=1), max_size=30),
)
def test_auto_denial_needs_enough_data_and_a_rate_above_the_threshold(requests, leads, peers):
    result = policy.compare_with_peers(requests, leads, peers, P)
    if result.auto_deny:
        assert leads >= P.peer_min_leads
        assert len(peers) >= P.peer_min_peers
        assert result.pro_rate > result.threshold >= result.market_median * 2 - 1e-12
    if leads < P.peer_min_leads or len(peers) < P.peer_min_peers:
        assert not result.comparable and not result.auto_deny


def test_the_standing_counts_the_limit_in_the_pros_own_leads():
    standing = policy.standing(2, 10, PEERS, P)
    assert standing.threshold == pytest.approx(0.2)
    assert standing.allowed_requests == 2  # 2 of 10 is the limit itself, not above it
    assert standing.room == 0
    assert not standing.current.auto_deny
    assert standing.next.auto_deny  # the request about to be sent would make it 3 of 10


def test_the_standing_has_market_figures_even_before_the_rule_applies():
    standing = policy.standing(4, 6, PEERS, P)
    assert not standing.current.comparable and not standing.next.auto_deny
    assert standing.market_median == 0.1
    assert standing.room is None


@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
    st.lists(st.floats(min_value=0, max_value=1), max_size=30),
)
def test_the_standing_agrees_with_the_rule(requests, leads, peers):
    standing = policy.standing(requests, leads, peers, P)
    assert standing.current == policy.compare_with_peers(requests, leads, peers, P)
    assert standing.next == policy.compare_with_peers(requests + 1, leads, peers, P)
    if standing.threshold is not None and leads:
        allowed = standing.allowed_requests
        assert allowed == 0 or allowed / leads <= standing.threshold
        assert (allowed + 1) / leads > standing.threshold
    if standing.current.comparable:
        # "Above N of your leads, requests are denied" says exactly what the rule decides.
        assert standing.current.auto_deny == (requests > standing.allowed_requests)
        assert standing.next.auto_deny == (standing.room == 0)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_median_and_percentile_lie_within_the_data(values):
    assert min(values) <= policy.median(values) <= max(values)
    assert min(values) <= policy.percentile(values, 90) <= max(values) + 1e-12


# Contact details


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("+1 512-555-0142", True),
        ("512 555 0142", True),
        ("555-0142", False),
        ("", None),
        ("000-000-0000", False),
        ("+44 20 7946 0958", True),
    ],
)
def test_phone_numbers(phone, valid):
    assert policy.phone_looks_valid(phone) is valid


@pytest.mark.parametrize(
    ("email", "valid"),
    [("maria@example.com", True), ("maria@example", False), ("not an email", False), ("", None)],
)
def test_email_addresses(email, valid):
    assert policy.email_looks_valid(email) is valid


# Business days


def test_business_days_skip_weekends():
    friday = date(2026, 11, 27)
    assert policy.add_business_days(friday, 1) == date(2026, 11, 30)
    assert policy.add_business_days(friday, 5) == date(2026, 12, 4)
    assert policy.add_business_days(friday, 0) == friday


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), st.integers(1, 30))
def test_business_days_always_land_on_a_weekday(start, days):
    result = policy.add_business_days(start, days)
    assert result.weekday() < 5
    assert result > start


# The whole assessment


def test_the_assessment_is_plain_json():
    import json

    assessment = policy.assess(
        reason=Reason.WRONG_JOB,
        received_at=RECEIVED,
        now=at(30),
        attempts=[Attempt(MESSAGE, at(0)), Attempt(PHONE, at(2))],
        available_channels={MESSAGE, PHONE},
        pro_requests=1,
        pro_leads=20,
        peer_rates=PEERS,
        duplicate_lead_ids=[7, 3],
        phone="+1 512-555-0142",
        email="maria@example.com",
        category_offered=True,
        in_service_area=False,
        first_response_at=at(0),
        params=P,
    )
    data = json.loads(json.dumps(assessment.as_json()))
    assert data["window_open"] is True
    assert data["contact_effort"]["meets_policy"] is True
    assert data["peers"]["comparable"] is True
    assert data["duplicate_lead_ids"] == [3, 7]
    assert data["first_response_hours"] == 0.0
    assert data["in_service_area"] is False
