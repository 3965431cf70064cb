"""The reviewers' queue: who reaches it, what it shows, how it filters, and what it costs."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Market
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import RefundRequest
from tests.factories import LeadFactory, ProFactory, ProProfileFactory, RefundRequestFactory
from tests.refunds.staff_flows import submitted

QUEUE = "/admin/refunds/refundrequest/"
# Session, user, permissions (2), the open and overdue counts, markets for the filter, the
# count, the page and who holds the claims shown (the month's on-time shares are counted at
# most once a minute, on the first visit here). A new per-row query makes the 30-request run
# fail.
QUEUE_QUERIES = 9


def _rows(response) -> list[int]:
    return [r.pk for r in response.context["cl"].result_list]


def test_it_sends_pros_to_the_admin_sign_in(client_for, alice):
    response = client_for(alice).get(QUEUE)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.parametrize("who", ["rita", "sam", "root"])
def test_reviewers_and_support_reach_it(who, request, client_for, db):
    response = client_for(request.getfixturevalue(who)).get(QUEUE)
    assert response.status_code == 200
    assert "Refund requests to review" in response.text


def test_it_opens_on_open_work_ordered_by_due_time(client_for, alice, bob, rita):
    now = timezone.now()
    later = RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=1))
    sooner = RefundRequestFactory(
        lead__pro=bob, submitted_at=now - timedelta(hours=5), status=Status.IN_REVIEW
    )
    RefundRequestFactory(lead__pro=alice, status=Status.CREDITED)
    RefundRequestFactory(lead__pro=bob, status=Status.DENIED)
    response = client_for(rita).get(QUEUE)
    assert _rows(response) == [sooner.pk, later.pk]


@pytest.mark.parametrize(
    ("state", "expected"),
    [("credited", ["credited"]), ("all", ["submitted", "credited", "denied"])],
)
def test_the_state_filter_reaches_every_state(state, expected, client_for, alice, rita):
    made = {
        status: RefundRequestFactory(lead__pro=alice, status=status).pk
        for status in (Status.SUBMITTED, Status.CREDITED, Status.DENIED)
    }
    response = client_for(rita).get(QUEUE, {"state": state})
    assert sorted(_rows(response)) == sorted(made[s] for s in expected)


def test_the_time_left_is_coloured_by_urgency(client_for, alice, rita):
    now = timezone.now()
    RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=2))
    RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=20))
    RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=27))
    html = client_for(rita).get(QUEUE).text
    assert '<span class="rq-chip rq-chip--late">3 h 0 m overdue</span>' in html
    assert 'rq-chip--warn">3 h 59 m left' in html or 'rq-chip--warn">4 h 0 m left' in html
    assert 'rq-chip--ok">21 h 59 m left' in html or 'rq-chip--ok">22 h 0 m left' in html


def test_amber_means_what_the_home_page_counts_as_due_within_4_hours(client_for, alice, rita):
    """A request 5 hours from its deadline is on time (not counted as due soon): green."""
    now = timezone.now()
    RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=19))
    html = client_for(rita).get(QUEUE).text
    assert 'rq-chip--ok">4 h 59 m left' in html or 'rq-chip--ok">5 h 0 m left' in html
    assert "rq-chip--warn" not in html


def test_it_shows_the_assessment_at_a_glance(client_for, alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    lazy = LeadFactory(pro=alice)  # no contact attempts at all
    services.submit_report(pro=alice, lead_id=lazy.pk, reason=Reason.HIRED_BEFORE_CONTACT)
    spam = LeadFactory(pro=alice)
    services.submit_report(pro=alice, lead_id=spam.pk, reason=Reason.SPAM)

    html = client_for(rita).get(QUEUE).text
    assert "Meets policy" in html
    assert "Short: 0 attempts, no message, no call, too soon" in html
    assert "Not needed" in html
    assert "ralph@example.test" in html
    assert "Alice Plumbing" in html and "Austin, TX" in html
    assert "3 d 0 h" in html  # the lead's age when reported
    assert 'title="Too few leads to compare (fewer than 10).">100% / —</span>' in html


def test_it_filters_overdue_requests(client_for, alice, rita):
    late = RefundRequestFactory(lead__pro=alice, submitted_at=timezone.now() - timedelta(hours=30))
    RefundRequestFactory(lead__pro=alice)
    assert _rows(client_for(rita).get(QUEUE, {"overdue": "yes"})) == [late.pk]


def test_it_filters_requests_due_within_four_hours(client_for, alice, rita):
    now = timezone.now()
    soon = RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=21))
    RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=30))  # overdue
    later = RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=10))
    decided = {"status": Status.CREDITED, "submitted_at": now - timedelta(hours=22)}
    RefundRequestFactory(lead__pro=alice, **decided)
    client = client_for(rita)
    assert _rows(client.get(QUEUE, {"overdue": "soon"})) == [soon.pk]
    assert _rows(client.get(QUEUE, {"overdue": "soon", "state": "all"})) == [soon.pk]
    assert _rows(client.get(QUEUE, {"overdue": "no"})) == [soon.pk, later.pk]  # as before
    assert "Due within 4 hours" in client.get(QUEUE).text


def test_it_filters_the_requests_i_claimed(client_for, alice, rita, ralph):
    mine = submitted(alice)
    services.claim(reviewer=rita, request_id=mine.pk)
    theirs = submitted(alice)
    services.claim(reviewer=ralph, request_id=theirs.pk)
    nobodys = submitted(alice)
    client = client_for(rita)
    assert _rows(client.get(QUEUE, {"claimed": "me"})) == [mine.pk]
    assert _rows(client.get(QUEUE, {"claimed": "others"})) == [theirs.pk]
    assert _rows(client.get(QUEUE, {"claimed": "nobody"})) == [nobodys.pk]


def test_it_filters_by_market_and_reason(client_for, alice, rita):
    dallas = Market.objects.create(name="Dallas, TX")
    far = ProFactory(profile=None)
    ProProfileFactory(user=far, market=dallas)
    there = RefundRequestFactory(lead__pro=far, reason=Reason.SPAM)
    RefundRequestFactory(lead__pro=alice)
    client = client_for(rita)
    assert _rows(client.get(QUEUE, {"market__id__exact": dallas.pk})) == [there.pk]
    assert _rows(client.get(QUEUE, {"reason__exact": Reason.SPAM})) == [there.pk]


@pytest.mark.parametrize(
    "term", ["Dana Whitfield", "dana@home.test", "Alice Plumbing", "alice@example", "mkt-123"]
)
def test_it_searches_customer_pro_and_lead(term, client_for, alice, bob, rita):
    found = RefundRequestFactory(
        lead=LeadFactory(
            pro=alice,
            customer_name="Dana Whitfield",
            customer_email="dana@home.test",
            marketplace_id="mkt-123",
        )
    )
    RefundRequestFactory(lead__pro=bob)
    assert _rows(client_for(rita).get(QUEUE, {"q": term})) == [found.pk]


def test_the_banner_counts_overdue_requests_and_the_share_decided_in_time(client_for, alice, rita):
    now = timezone.now()
    for _ in range(2):
        RefundRequestFactory(lead__pro=alice, submitted_at=now - timedelta(hours=30))
    RefundRequestFactory(
        lead__pro=alice,
        status=Status.CREDITED,
        submitted_at=now - timedelta(days=2),
        decided_at=now - timedelta(days=2) + timedelta(hours=3),
    )
    html = client_for(rita).get(QUEUE).text
    assert "2 requests overdue" in html
    assert "33%" in html  # 1 of 3 decided within 24 h this week
    assert "(1 of 3)" in html


def test_reviewers_get_the_bulk_deny_action_and_support_does_not(client_for, alice, rita, sam):
    RefundRequestFactory(lead__pro=alice)
    action_form = client_for(rita).get(QUEUE).context["action_form"]
    assert "bulk_deny" in [value for value, _ in action_form.fields["action"].choices]
    assert client_for(sam).get(QUEUE).context["action_form"] is None


@pytest.mark.parametrize("size", [2, 30])
def test_the_queue_costs_the_same_queries_for_any_number_of_requests(
    size, client_for, rita, alice, bob, django_assert_max_num_queries
):
    for i in range(size):
        lead = LeadFactory(pro=alice if i % 2 else bob)
        services.submit_report(pro=lead.pro, lead_id=lead.pk, reason=Reason.WRONG_JOB)
        if i % 3 == 0:
            services.claim(reviewer=rita, request_id=lead.refund_request.pk)
    client = client_for(rita)
    client.get(QUEUE)  # the session and permissions settle on the first visit
    with django_assert_max_num_queries(QUEUE_QUERIES):
        response = client.get(QUEUE)
    assert len(response.context["cl"].result_list) == size
    market = alice.pro_profile.market_id
    with django_assert_max_num_queries(QUEUE_QUERIES):
        filtered = client.get(
            QUEUE, {"reason__exact": Reason.WRONG_JOB, "market__id__exact": market}
        )
    assert len(filtered.context["cl"].result_list) == size


def test_the_on_time_shares_are_counted_once_a_minute_and_the_overdue_count_is_live(
    client_for, alice, rita
):
    late = timezone.now() - timedelta(hours=30)
    RefundRequestFactory(lead__pro=alice, submitted_at=late)
    client = client_for(rita)
    html = client.get(QUEUE).text
    assert "1 request overdue" in html
    assert "(0 of 1)" in html

    RefundRequestFactory(lead__pro=alice, submitted_at=late)
    html = client.get(QUEUE).text
    assert "2 requests overdue" in html  # live
    assert "(0 of 1)" in html  # the shares wait for the minute to pass

    cache.delete(services.PROMISE_STATS_CACHE_KEY)  # the minute has passed
    assert "(0 of 2)" in client.get(QUEUE).text


def test_a_request_stays_in_the_market_it_was_reported_from(client_for, alice, rita):
    lead = LeadFactory(pro=alice)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    reported_from = alice.pro_profile.market
    assert request.market == reported_from
    alice.pro_profile.market = Market.objects.create(name="Tucson, AZ")
    alice.pro_profile.save()
    client = client_for(rita)
    assert _rows(client.get(QUEUE, {"market__id__exact": reported_from.pk})) == [request.pk]
    assert str(reported_from) in client.get(QUEUE).text


def test_the_migration_gives_existing_requests_their_pros_market(alice, bob):
    migration = importlib.import_module("refunds.migrations.0006_queue_filter_indexes")
    mine, theirs = RefundRequestFactory(lead__pro=alice), RefundRequestFactory(lead__pro=bob)
    RefundRequest.objects.update(market=None)  # as they were before the field existed
    migration.market_of_each_request(apps, None)
    for request in (mine, theirs):
        request.refresh_from_db()
        assert request.market == request.pro.pro_profile.market
