"""⋮ → Report: the refund request form and every rule the server enforces on it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.choices import Channel, Outcome
from refunds import services
from refunds.choices import REASON_HELP, Reason, Status
from refunds.models import RefundEvent, RefundRequest
from tests.factories import (
    ContactAttemptFactory,
    LeadFactory,
    MessageFactory,
    ProFactory,
    RefundRequestFactory,
)


def url(lead):
    return reverse("report", args=[lead.pk])


def thread_url(lead):
    return reverse("lead_thread", args=[lead.pk])


def test_it_requires_sign_in(client, lead):
    response = client.get(url(lead))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_shows_the_five_reasons_with_one_line_each(client_for, lead):
    html = client_for(lead.pro).get(url(lead)).content.decode()
    for reason in Reason:
        assert f'value="{reason.value}"' in html
        assert str(REASON_HELP[reason]).replace("'", "&#x27;") in html
    assert html.count('name="reason"') == 5
    assert "Submit refund request" in html


def test_it_shows_the_not_eligible_list_unfolded(client_for, lead):
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert '<details class="not-eligible' in html
    assert " open>" in html[html.index('<details class="not-eligible') :][:120]
    assert "The customer did not answer your messages or calls." in html
    assert "More than 14 days have passed since you received the lead." in html


def test_it_warns_when_contact_effort_is_short(client_for, lead):
    response = client_for(lead.pro).get(url(lead))
    html = response.content.decode()
    assert "Your contact effort is short of our policy." in html
    assert "alert-warning" in html
    assert "Make at least 2 contact attempts (0 so far)." in html
    assert "Try the customer by phone call." in html
    assert not response.context["effort"].meets_policy


def test_it_confirms_contact_effort_that_meets_the_policy(client_for, lead):
    first = timezone.now() - timedelta(hours=30)
    ContactAttemptFactory(lead=lead, channel=Channel.MESSAGE, attempted_at=first)
    ContactAttemptFactory(
        lead=lead,
        channel=Channel.PHONE,
        outcome=Outcome.NO_ANSWER,
        attempted_at=first + timedelta(hours=2),
    )
    html = client_for(lead.pro).get(url(lead)).content.decode()
    assert "Your contact effort meets our policy." in html
    assert "2 contact attempts so far" in html
    assert "First attempt 30 hours ago" in html
    assert "Still to do" not in html


def test_it_marks_which_reasons_make_contact_effort_moot(client_for, lead):
    html = client_for(lead.pro).get(url(lead)).content.decode()
    for reason in Reason:
        matters = "false" if reason in (Reason.DUPLICATE, Reason.SPAM) else "true"
        assert f'value="{reason.value}" data-effort-matters="{matters}"' in html
    assert "Contact effort does not apply to this reason." in html
    assert "/static/js/report.js" in html


def test_it_shows_the_moot_note_when_a_moot_reason_comes_back_with_an_error(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"reason": Reason.SPAM, "details": "x" * 2001})
    html = response.content.decode()
    assert '<div class="alert alert-secondary mb-0" data-effort="moot">' in html
    assert 'data-effort="assessed" hidden' in html


def test_it_stores_a_submitted_request_due_in_24_hours(client_for, lead):
    before = timezone.now()
    response = client_for(lead.pro).post(
        url(lead), {"reason": Reason.WRONG_JOB, "details": "  They need a roofer.  "}
    )
    assert response.status_code == 302
    assert response.url == thread_url(lead)
    request = RefundRequest.objects.get(lead=lead)
    assert request.pro == lead.pro
    assert request.status == Status.SUBMITTED
    assert request.reason == Reason.WRONG_JOB
    assert request.details == "They need a roofer."
    assert request.submitted_at >= before
    assert request.due_at == request.submitted_at + timedelta(hours=24)
    assert request.assessment["window_open"] is True
    assert request.assessment["contact_effort"]["attempts"] == 0
    assert RefundEvent.objects.get(request=request).action == "submit"


def test_the_thread_then_shows_the_request(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"reason": Reason.SPAM}, follow=True)
    html = response.content.decode()
    assert "Your refund request is in." in html
    assert "Refund requested — decision expected by" in html
    assert 'data-status="submitted"' in html


def test_it_refuses_when_the_window_closes_between_form_and_submit(client_for, alice):
    lead = LeadFactory(
        pro=alice, received_at=timezone.now() - timedelta(days=14) + timedelta(minutes=1)
    )
    client = client_for(alice)
    assert "Submit refund request" in client.get(url(lead)).content.decode()
    # The pro dawdles on the form: moving the receipt back is the clock moving forward.
    lead.received_at -= timedelta(minutes=2)
    lead.save(update_fields=("received_at",))
    response = client.post(url(lead), {"reason": Reason.WRONG_JOB})
    html = response.content.decode()
    assert response.status_code == 200
    deadline = services.report_deadline(lead)
    assert (
        f"Reporting for this lead closed on {deadline:%b} {deadline.day}, {deadline.year}" in html
    )
    assert "Submit refund request" not in html
    assert not RefundRequest.objects.exists()


def test_it_shows_no_form_past_the_window(client_for, alice):
    lead = LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=20))
    response = client_for(alice).get(url(lead))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reporting closed on" in html
    assert "Submit refund request" not in html
    assert 'name="reason"' not in html


def test_it_refuses_a_forged_post_past_the_window(client_for, alice):
    lead = LeadFactory(pro=alice, received_at=timezone.now() - timedelta(days=20))
    response = client_for(alice).post(url(lead), {"reason": Reason.SPAM, "details": "forged"})
    assert response.status_code == 200
    assert "Reporting for this lead closed on" in response.content.decode()
    assert not RefundRequest.objects.exists()
    assert not RefundEvent.objects.exists()


def test_it_requires_owner(client_for, lead, bob):
    client = client_for(bob)
    assert client.get(url(lead)).status_code == 404
    assert client.post(url(lead), {"reason": Reason.SPAM}).status_code == 404
    assert not RefundRequest.objects.exists()


def test_it_sends_staff_to_the_admin(client_for, lead, rita):
    response = client_for(rita).post(url(lead), {"reason": Reason.SPAM})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert not RefundRequest.objects.exists()


def test_it_rejects_a_reason_not_in_the_list(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"reason": "no_reply"})
    assert response.status_code == 200
    assert "Choose one of the listed reasons." in response.content.decode()
    assert not RefundRequest.objects.exists()


def test_it_requires_a_reason(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"details": "It was bad."})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose the reason that fits this lead." in html
    assert "It was bad." in html
    assert not RefundRequest.objects.exists()


def test_it_rejects_details_that_are_too_long(client_for, lead):
    limit = services.MAX_DETAILS_LENGTH
    response = client_for(lead.pro).post(
        url(lead), {"reason": Reason.SPAM, "details": "x" * (limit + 1)}
    )
    assert response.status_code == 200
    assert f"Keep the details to {limit} characters or fewer (you wrote {limit + 1})." in (
        response.content.decode()
    )
    assert not RefundRequest.objects.exists()


def test_it_accepts_details_of_exactly_the_limit(client_for, lead):
    details = "x" * services.MAX_DETAILS_LENGTH
    client_for(lead.pro).post(url(lead), {"reason": Reason.SPAM, "details": details})
    assert RefundRequest.objects.get(lead=lead).details == details


def test_a_double_submit_shows_the_existing_request(client_for, lead):
    client = client_for(lead.pro)
    client.post(url(lead), {"reason": Reason.WRONG_JOB})
    response = client.post(url(lead), {"reason": Reason.SPAM}, follow=True)
    assert response.redirect_chain == [(thread_url(lead), 302)]
    html = response.content.decode()
    assert "You reported this lead on" in html
    assert "Its status: submitted." in html
    assert "alert-info" in html
    request = RefundRequest.objects.get(lead=lead)
    assert request.reason == Reason.WRONG_JOB


def test_the_form_is_not_offered_again_once_reported(client_for, lead):
    RefundRequestFactory(lead=lead)
    response = client_for(lead.pro).get(url(lead))
    assert response.status_code == 302
    assert response.url == thread_url(lead)


def test_it_denies_automatically_a_pro_far_above_peers(
    client_for, alice, market, django_capture_on_commit_callbacks
):
    # Five peers in alice's market who never ask for refunds, and alice with ten leads.
    for _ in range(5):
        LeadFactory(pro=ProFactory())
    leads = [LeadFactory(pro=alice) for _ in range(10)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(url(leads[0]), {"reason": Reason.WRONG_JOB})
    assert response.status_code == 302
    request = RefundRequest.objects.get(lead=leads[0])
    assert request.status == Status.DENIED
    assert request.decisions.get().kind == "automatic"

    html = client_for(alice).get(thread_url(leads[0])).content.decode()
    assert "Your refund request was denied automatically." in html
    assert "Refund denied automatically on" in html
    message = alice.inbox_messages.get()
    assert "denied automatically" in message.body
    assert mail.outbox == []


@st.composite
def bad_reports(draw):
    reason = draw(
        st.one_of(
            st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
            st.sampled_from(["no_reply", "WRONG_JOB", " spam", "spam\x00", "hired_elsewhere"]),
        ).filter(lambda r: r not in Reason.values)
    )
    details = draw(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300))
    return reason, details


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(report=bad_reports())
def test_bad_reasons_never_fail_and_store_nothing(client_for, lead, report):
    reason, details = report
    response = client_for(lead.pro).post(url(lead), {"reason": reason, "details": details})
    assert response.status_code == 200
    assert not RefundRequest.objects.exists()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reason=st.sampled_from(Reason.values),
    details=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=2100)
    | st.text(alphabet="ab \n", min_size=1990, max_size=2010),
)
def test_any_details_are_stored_as_written_or_refused_whole(client_for, alice, reason, details):
    lead = LeadFactory(pro=alice)
    response = client_for(alice).post(url(lead), {"reason": reason, "details": details})
    stored = RefundRequest.objects.filter(lead=lead).first()
    if response.status_code == 302:
        assert stored is not None
        assert stored.details == details.strip()
        assert len(stored.details) <= services.MAX_DETAILS_LENGTH
    else:
        assert response.status_code == 200
        assert stored is None
        assert "\x00" in details or len(details.strip()) > services.MAX_DETAILS_LENGTH


@pytest.mark.parametrize("method", ["put", "delete"])
def test_it_rejects_other_methods(client_for, lead, method):
    assert getattr(client_for(lead.pro), method)(url(lead)).status_code == 405


def test_a_submission_through_the_page_costs_the_same_queries_as_the_data_grows(
    client_for, alice, django_assert_max_num_queries
):
    """Measure 4 of the benchmarks: the pro's history, the thread and the market do not add
    queries (the SQL is printed when this fails)."""
    client = client_for(alice)

    def report(lead):
        return client.post(url(lead), {"reason": Reason.WRONG_JOB, "details": "Not my trade."})

    first = LeadFactory(pro=alice)
    client.get(url(first))  # the session settles on the first visit
    with CaptureQueriesContext(connection) as few:
        assert report(first).status_code == 302

    for _ in range(30):
        LeadFactory(pro=alice)
    for _ in range(10):
        peer = ProFactory(profile__market=alice.pro_profile.market)
        RefundRequestFactory(lead=LeadFactory(pro=peer))
    services.compute_peer_stats()
    busy = LeadFactory(pro=alice)
    for _ in range(40):
        MessageFactory(lead=busy)
    for channel in (Channel.PHONE, Channel.MESSAGE, Channel.PHONE):
        ContactAttemptFactory(lead=busy, channel=channel)
    with django_assert_max_num_queries(len(few)):
        assert report(busy).status_code == 302
    assert RefundRequest.objects.filter(lead=busy).exists()


def test_a_refused_submission_lists_what_to_fix_at_the_top_with_links(client_for, lead):
    response = client_for(lead.pro).post(url(lead), {"details": "x" * 5000})
    assert response.status_code == 200
    html = response.text
    summary = html.index('id="form-errors"')
    assert summary < html.index('id="report-form"')
    assert 'href="#reason-wrong_job"' in html and "Choose the reason that fits this lead." in html
    assert 'aria-invalid="true" aria-describedby="reason-errors"' in html
    assert 'aria-describedby="error_1_id_details"' in html
    assert not RefundRequest.objects.filter(lead=lead).exists()


def test_every_pro_page_has_a_skip_link_and_a_favicon(client_for, lead):
    html = client_for(lead.pro).get(url(lead)).text
    assert 'href="#main">Skip to main content</a>' in html
    assert 'id="main"' in html
    assert 'rel="icon"' in html
