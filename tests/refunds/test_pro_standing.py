"""A pro's standing: their refund rate against the peer rule on the Credits page, the report
form's warning before a request the rule would deny, and the Inbox's link to it.

The market of every test but one: five peers with 1 request on 10 leads each (a median of 10%),
so the rule denies above max(2 × 10%, p90 10%) = 20%. With 20 leads that is above 4 of 20.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import InboxMessage
from refunds import services
from refunds.choices import DecisionKind, Reason, Status
from refunds.models import RefundRequest
from tests.factories import LeadFactory, MarketFactory, ProFactory, RefundRequestFactory

CREDITS = reverse("credits")


def report_url(lead):
    return reverse("report", args=[lead.pk])


def peers(market, count=5, leads=10, requests=1):
    made = []
    for _ in range(count):
        peer = ProFactory(profile__market=market)
        peer_leads = LeadFactory.create_batch(leads, pro=peer)
        for lead in peer_leads[:requests]:
            RefundRequestFactory(lead=lead)
        made.append(peer)
    return made


def leads_with_requests(pro, leads, requests):
    """`leads` leads for the pro, the first `requests` of them reported; returns the last one,
    not reported."""
    made = LeadFactory.create_batch(leads, pro=pro)
    for lead in made[:requests]:
        RefundRequestFactory(lead=lead)
    return made[-1]


def words(response) -> str:
    return " ".join(response.context["standing"]["words"])


@pytest.fixture
def crowd(market):
    return peers(market)


def test_it_shows_the_rate_the_median_and_the_limit_in_words(client_for, alice, crowd):
    leads_with_requests(alice, leads=20, requests=3)
    response = client_for(alice).get(CREDITS)
    standing = response.context["standing"]["standing"]
    assert (standing.current.pro_requests, standing.current.pro_leads) == (3, 20)
    assert standing.market_median == pytest.approx(0.1)
    assert standing.threshold == pytest.approx(0.2)
    assert standing.allowed_requests == 4
    assert words(response) == (
        "You asked for refunds on 3 of 20 leads in the last 90 days. "
        "Pros near you: 2 of 20. "
        "Above 4 of 20, requests are denied automatically. "
        "You can ask for 1 more refund before that."
    )
    html = response.text
    assert 'id="standing"' in html
    assert "Within the limit" in html


def test_the_chart_has_a_title_a_text_alternative_and_words_beside_colour(client_for, alice, crowd):
    leads_with_requests(alice, leads=20, requests=5)
    html = client_for(alice).get(CREDITS).text
    chart = html[html.index('<svg class="rq-chart"') : html.index("</svg>")]
    assert 'role="img"' in chart
    assert "<title" in chart
    assert "Refund rate, last 90 days" in chart
    assert (
        "<desc" in chart
        and "You 25% · 5 of 20 · above; Pros near you 10% (median). "
        "Denied automatically above 4 of 20 (20%)."
        in chart
    )
    # Above the limit, the bar is hatched, not only another colour.
    assert 'fill="url(#rq-hatch-' in chart
    assert "style=" not in chart  # the Content-Security-Policy refuses inline styles


def test_a_pro_just_below_the_limit_is_not_warned_and_goes_to_a_reviewer(client_for, alice, crowd):
    lead = leads_with_requests(alice, leads=20, requests=3)
    client = client_for(alice)
    form = client.get(report_url(lead))
    assert form.context["auto_denial_warning"] is None
    assert "would be denied automatically" not in form.text

    client.post(report_url(lead), {"reason": Reason.WRONG_JOB})
    request = RefundRequest.objects.get(lead=lead)
    assert request.status == Status.SUBMITTED
    assert request.assessment["peers"]["auto_deny"] is False
    # That request took alice to the limit: the page now says the next one would be denied.
    response = client.get(CREDITS)
    assert response.context["standing"]["state"] == "at"
    assert "your next request would be denied automatically" in words(response)


def test_a_pro_at_the_limit_is_warned_and_the_submission_is_denied_as_warned(
    client_for, alice, crowd, django_capture_on_commit_callbacks
):
    lead = leads_with_requests(alice, leads=20, requests=4)
    client = client_for(alice)
    form = client.get(report_url(lead))
    html = form.text
    assert "This request would be denied automatically" in html
    assert (
        "You asked for refunds on 4 of your 20 leads in the last 90 days; this request would "
        "make it 5. Above 4 of 20, requests are denied automatically (pros near you: 2 of 20)."
    ) in html
    assert f'href="{CREDITS}#standing"' in html
    # The warning does not stop the pro: the form is there to send anyway.
    assert "Submit refund request" in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(report_url(lead), {"reason": Reason.WRONG_JOB})
    request = RefundRequest.objects.get(lead=lead)
    assert request.status == Status.DENIED
    assert request.decisions.get().kind == DecisionKind.AUTOMATIC
    assert request.assessment["peers"]["threshold"] == pytest.approx(0.2)


def test_a_pro_above_the_limit_is_told_so(client_for, alice, crowd):
    leads_with_requests(alice, leads=20, requests=5)
    response = client_for(alice).get(CREDITS)
    assert response.context["standing"]["state"] == "above"
    assert "You are above that now: a request you make now is denied automatically." in words(
        response
    )
    assert "Above the limit" in response.text


def test_the_warning_agrees_with_the_submission_read_from_the_snapshot(
    client_for, alice, market, django_capture_on_commit_callbacks
):
    # Peers at 0%, 0%, 10%, 10%, 30%: median 10%, p90 22% → the limit is 22%, above 2 of 10.
    for requests in (0, 0, 1, 1, 3):
        peers(market, count=1, requests=requests)
    lead = leads_with_requests(alice, leads=10, requests=2)
    services.compute_peer_stats()
    client = client_for(alice)
    standing = client.get(CREDITS).context["standing"]["standing"]
    assert standing.threshold == pytest.approx(0.22)
    assert standing.allowed_requests == 2
    assert client.get(report_url(lead)).context["auto_denial_warning"] is not None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(report_url(lead), {"reason": Reason.SPAM})
    request = RefundRequest.objects.get(lead=lead)
    assert request.status == Status.DENIED
    assert request.assessment["peers"]["threshold"] == pytest.approx(standing.threshold)
    assert request.assessment["peers"]["market_median"] == pytest.approx(standing.market_median)


def test_with_too_few_leads_the_rule_does_not_apply(client_for, alice, crowd):
    lead = leads_with_requests(alice, leads=6, requests=4)
    client = client_for(alice)
    response = client.get(CREDITS)
    assert response.context["standing"]["state"] == "not_applied"
    assert words(response) == (
        "You asked for refunds on 4 of 6 leads in the last 90 days. "
        "Pros near you ask for refunds on 10% of their leads. "
        "A high refund rate leads to automatic denials only from 10 leads in 90 days, so none "
        "of your requests is denied automatically for it now."
    )
    # The chart compares, but draws no limit the rule does not apply.
    assert "Denied automatically above" not in response.text
    assert client.get(report_url(lead)).context["auto_denial_warning"] is None
    client.post(report_url(lead), {"reason": Reason.WRONG_JOB})
    assert RefundRequest.objects.get(lead=lead).status == Status.SUBMITTED


def test_with_too_few_peers_the_rule_does_not_apply(client_for, alice, market):
    peers(market, count=4)
    lead = leads_with_requests(alice, leads=20, requests=10)
    client = client_for(alice)
    response = client.get(CREDITS)
    assert response.context["standing"]["chart"] is None
    assert "Fewer than 5 other pros near you bought leads in that time" in words(response)
    assert client.get(report_url(lead)).context["auto_denial_warning"] is None
    client.post(report_url(lead), {"reason": Reason.WRONG_JOB})
    assert RefundRequest.objects.get(lead=lead).status == Status.SUBMITTED


def test_a_pro_without_leads_has_no_rate_yet(client_for, alice, crowd):
    response = client_for(alice).get(CREDITS)
    assert response.status_code == 200
    assert response.context["standing"]["chart"] is None
    assert words(response).startswith(
        "You bought no leads in the last 90 days, so you have no refund rate yet."
    )


def test_leads_and_requests_outside_the_window_do_not_count(client_for, alice, crowd):
    old = timezone.now() - timedelta(days=91)
    for lead in LeadFactory.create_batch(10, pro=alice, received_at=old):
        RefundRequestFactory(lead=lead, submitted_at=old + timedelta(days=1))
    leads_with_requests(alice, leads=20, requests=1)
    assert words(client_for(alice).get(CREDITS)).startswith(
        "You asked for refunds on 1 of 20 leads in the last 90 days."
    )


def test_it_never_shows_another_pros_figures(client_for, alice, bob, crowd):
    # Bob, in alice's market, asks for refunds on 7 of 10: a peer of hers, never her figures.
    leads_with_requests(bob, leads=10, requests=7)
    # Pros of another market do not move her market's median.
    peers(MarketFactory(name="Denver, CO"), requests=9)
    leads_with_requests(alice, leads=20, requests=3)
    response = client_for(alice).get(CREDITS)
    standing = response.context["standing"]["standing"]
    assert standing.current.peers == 6  # the five peers and bob, not alice herself
    assert (standing.current.pro_requests, standing.current.pro_leads) == (3, 20)
    assert standing.market_median == pytest.approx(0.1)
    assert "7 of 10" not in response.text
    assert "70%" not in response.text
    bobs = client_for(bob).get(CREDITS).context["standing"]["standing"]
    assert (bobs.current.pro_requests, bobs.current.pro_leads) == (7, 10)


def test_its_queries_do_not_grow_with_the_data(
    client_for, alice, market, django_assert_max_num_queries
):
    client = client_for(alice)
    peers(market, count=5, leads=2)
    leads_with_requests(alice, leads=2, requests=1)
    with CaptureQueriesContext(connection) as few:
        small = client.get(CREDITS)
    assert small.context["standing"]["chart"] is not None
    peers(market, count=15, leads=12, requests=2)
    leads_with_requests(alice, leads=40, requests=6)
    with django_assert_max_num_queries(len(few)):
        large = client.get(CREDITS)
    assert large.context["standing"]["state"] == "within"


def test_the_automatic_denial_in_the_inbox_links_to_the_standing(
    client_for, alice, crowd, django_capture_on_commit_callbacks
):
    lead = leads_with_requests(alice, leads=20, requests=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    message = InboxMessage.objects.get(recipient=alice)
    assert "Your Credits page shows your refund rate" in message.body
    html = client_for(alice).get(reverse("inbox_message", args=[message.pk])).text
    assert f'href="{CREDITS}#standing"' in html
    assert "See your refund rate against pros near you" in html


def test_a_reviewers_denial_does_not_link_to_the_standing(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    lead = LeadFactory(pro=alice)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    with django_capture_on_commit_callbacks(execute=True):
        services.deny(
            reviewer=rita,
            request_id=request.pk,
            explanation="The job matched your services.",
            guidance="Call within the hour.",
        )
    message = InboxMessage.objects.get(recipient=alice)
    html = client_for(alice).get(reverse("inbox_message", args=[message.pk])).text
    assert "#standing" not in html


def test_a_pro_without_a_market_has_no_peers_to_compare_with(client_for, alice, crowd):
    leads_with_requests(alice, leads=12, requests=6)
    alice.pro_profile.delete()
    response = client_for(alice).get(CREDITS)
    assert response.context["standing"]["standing"].current.peers == 0
    assert "Fewer than 5 other pros near you" in words(response)
