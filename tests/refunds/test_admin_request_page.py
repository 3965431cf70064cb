"""The request page: everything needed to decide, the buttons each person may press, and the
server refusing any other POST with a clear message and no change."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.choices import Role
from accounts.models import InboxMessage
from leads.choices import Sender
from refunds import permissions, services
from refunds.admin.actions import ACTIONS
from refunds.choices import Reason, Status
from refunds.models import Decision, DenialTemplate, RefundEvent, RefundRequest
from tests.factories import (
    LeadFactory,
    MessageFactory,
    RefundRequestFactory,
    StaffFactory,
    assessment_json,
)
from tests.refunds.staff_flows import (
    chatty_lead,
    disputed,
    resumed,
    reversal_disputed,
    submitted,
)

QUEUE = "/admin/refunds/refundrequest/"
# Session, user, permissions (2), roles, the request with its lead, pro, claim, credit and
# dispute, its decisions and events, messages, attempts, denial templates, the pro's categories,
# history (3) and the customer's other leads.
# And the queue as the reviewer filtered it, for j/k: the market filter's choices, the list's
# count and its ids (3).
PAGE_QUERIES = 19


# What a panel's fields other than text get from the tests that fill every panel: half the price.
PANEL_CHOICES = {"share": "50", "amount": ""}


def page_of(request) -> str:
    return f"{QUEUE}{request.pk}/change/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _buttons(html: str) -> set[str]:
    found = set()
    for action in ACTIONS:
        if f'name="transition" value="{action.name}"' in html:
            found.add(action.name)
    return found


# What the page shows


def test_it_shows_the_whole_thread_in_order_as_written(client_for, alice, rita):
    lead = LeadFactory(pro=alice)
    start = lead.received_at
    lines = [
        (Sender.CUSTOMER, "Need a roofer <today>!\n  Second line, indented.", 5),
        (Sender.PRO, "We do plumbing only.", 9),
        (Sender.SYSTEM, "The customer shared a photo.", 12),
        (Sender.CUSTOMER, "Oh, sorry then.", 40),
    ]
    for sender, body, minutes in lines:
        MessageFactory(
            lead=lead, sender=sender, body=body, sent_at=start + timedelta(minutes=minutes)
        )
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)

    html = client_for(rita).get(page_of(request)).text
    positions = [html.index(body.replace("<", "&lt;").replace(">", "&gt;")) for _, body, _ in lines]
    assert positions == sorted(positions)
    assert "Need a roofer &lt;today&gt;!\n  Second line, indented." in html
    assert html.count("rq-msg rq-msg--customer") == 2
    assert html.count("rq-msg rq-msg--pro") == 1
    assert html.count("rq-msg rq-msg--system") == 1
    assert "Reported for a refund" in html


def test_it_puts_contact_attempts_on_the_timeline(client_for, alice, rita):
    request = submitted(alice)
    html = client_for(rita).get(page_of(request)).text
    assert html.count('class="rq-attempt"') == 2
    assert "Phone call · Delivered" in html
    assert "2 contact attempts" in html


def test_it_shows_the_assessment_as_a_checklist(client_for, alice, rita):
    lead = chatty_lead(alice)
    earlier = LeadFactory(
        pro=alice,
        customer_phone=lead.customer_phone,
        received_at=lead.received_at - timedelta(days=2),
    )
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.DUPLICATE)
    html = client_for(rita).get(page_of(request)).text
    for label in (
        "Reported within the window",
        "Good-faith contact effort",
        "Refund rate",
        "Duplicate candidates",
        "Phone number looks valid",
        "Email address looks valid",
        "Category offered by the pro",
        "In the pro&#x27;s service area",
        "First response",
    ):
        assert label in html, label
    assert f'href="/admin/leads/lead/{earlier.pk}/change/">Lead #{earlier.pk}</a>' in html
    assert "Not needed for this reason" in html  # contact effort, for a duplicate


def test_it_names_what_is_missing_from_the_contact_effort(client_for, alice, rita):
    lead = LeadFactory(pro=alice)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    html = client_for(rita).get(page_of(request)).text
    assert "Try the customer by phone call." in html
    assert "Make at least 2 contact attempts (0 so far)." in html


def test_it_shows_the_pros_history_other_leads_of_the_customer_and_the_log(
    client_for, alice, bob, rita
):
    request = submitted(alice)
    earlier = RefundRequestFactory(lead__pro=alice, status=Status.DENIED, reason=Reason.SPAM)
    elsewhere = LeadFactory(pro=bob, customer_email=request.lead.customer_email.upper())
    services.claim(reviewer=rita, request_id=request.pk)

    html = client_for(rita).get(page_of(request)).text
    assert f'href="/admin/refunds/refundrequest/{earlier.pk}/change/">#{earlier.pk}</a>' in html
    assert "Spam, fraud or abuse" in html
    assert f'href="/admin/leads/lead/{elsewhere.pk}/change/"' in html
    assert "Bob&#x27;s Pipes" in html
    assert "alice@example.test</td><td>submit" in html
    assert "rita@example.test</td><td>claim" in html


def test_it_prefills_the_denial_with_a_template_for_the_reason(client_for, alice, rita):
    request = submitted(alice)  # wrong job type
    template = DenialTemplate.objects.get(reason=Reason.WRONG_JOB)
    html = client_for(rita).get(page_of(request)).text
    assert f'<option value="{template.pk}"' in html
    assert html.index("For wrong job type") < html.index("Any reason") < html.index("Other reasons")
    assert f"\n{template.explanation}</textarea>" in html
    assert f"\n{template.guidance}</textarea>" in html


# Which buttons whom


def test_a_reviewer_sees_claim_approve_and_deny_on_a_fresh_request(client_for, alice, rita):
    html = client_for(rita).get(page_of(submitted(alice))).text
    assert _buttons(html) == {"claim", "approve", "approve_part", "deny"}


def test_a_reviewer_sees_release_once_they_claimed(client_for, alice, rita):
    request = submitted(alice)
    services.claim(reviewer=rita, request_id=request.pk)
    html = client_for(rita).get(page_of(request)).text
    assert _buttons(html) == {"release", "approve", "approve_part", "deny"}
    assert "Claimed by you until" in html


def test_other_reviewers_see_who_holds_the_claim_and_no_buttons(client_for, alice, rita, ralph):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    html = client_for(rita).get(page_of(request)).text
    assert _buttons(html) == set()
    assert "ralph@example.test is reviewing this request." in html


def test_support_sees_no_decision_buttons_on_open_requests(client_for, alice, sam):
    html = client_for(sam).get(page_of(submitted(alice))).text
    assert _buttons(html) == set()
    assert "Reviewers decide open requests." in html


def test_nobody_gets_buttons_on_a_finished_request(client_for, alice, rita, sam):
    request = RefundRequestFactory(lead__pro=alice, status=Status.CREDITED)
    for user in (rita, sam):
        html = client_for(user).get(page_of(request)).text
        assert _buttons(html) == set()
        assert "nothing left to decide" in html


# Every POST is checked again


def test_a_reviewer_approves_and_the_credit_follows(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).post(page_of(request), {"transition": "approve"})
    assert response.status_code == 302
    assert response.url == QUEUE  # nothing else to review: back to the queue
    assert _messages(response) == [
        f"Approved request #{request.pk}: $24.50 goes back to Alice Plumbing. "
        "The queue is empty: nothing left to review here."
    ]
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert InboxMessage.objects.get(recipient=alice).subject.startswith("Refund approved")


def test_a_reviewer_claims_and_stays_on_the_page(client_for, alice, rita):
    request = submitted(alice)
    response = client_for(rita).post(page_of(request), {"transition": "claim"})
    assert response.url == page_of(request)
    request.refresh_from_db()
    assert (request.status, request.claimed_by) == (Status.IN_REVIEW, rita)


def test_a_reviewer_denies_with_the_edited_text(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).post(
            page_of(request),
            {
                "transition": "deny",
                "deny-explanation": "The thread shows a plumbing job.",
                "deny-guidance": "Report only jobs outside your categories.",
            },
        )
    assert response.url == QUEUE
    request.refresh_from_db()
    assert request.status == Status.DENIED
    decision = request.decisions.get()
    assert decision.explanation == "The thread shows a plumbing job."
    assert "The thread shows a plumbing job." in InboxMessage.objects.get(recipient=alice).body


def test_a_denial_without_guidance_is_sent_back_with_the_text_kept(client_for, alice, rita):
    request = submitted(alice)
    response = client_for(rita).post(
        page_of(request),
        {"transition": "deny", "deny-explanation": "Kept text", "deny-guidance": ""},
    )
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert "\nKept text</textarea>" in response.text
    assert '<details class="rq-pop" open>' in response.text
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert not Decision.objects.exists()


def test_a_reviewer_posting_overturn_is_refused_and_nothing_changes(
    client_for, alice, rita, ralph, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    assert _buttons(client_for(ralph).get(page_of(request)).text) == set()
    response = client_for(ralph).post(
        page_of(request), {"transition": "overturn", "overturn-note": "Let me in."}
    )
    assert response.url == page_of(request)
    assert _messages(response) == ["Overturn refused: You do not have permission to do that."]
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    assert request.decisions.count() == 1


def test_a_reviewer_posting_approve_on_someone_elses_claim_is_refused(
    client_for, alice, rita, ralph
):
    request = submitted(alice)
    services.claim(reviewer=ralph, request_id=request.pk)
    response = client_for(rita).post(page_of(request), {"transition": "approve"})
    assert _messages(response) == ["Approve refused: ralph@example.test is reviewing this request."]
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_a_reviewer_posting_approve_twice_is_refused_the_second_time(client_for, alice, rita):
    request = submitted(alice)
    client = client_for(rita)
    client.post(page_of(request), {"transition": "approve"})
    response = client.post(page_of(request), {"transition": "approve"})
    assert _messages(response)[-1] == (
        "Approve refused: This request is reviewed and cannot be changed that way."
    )
    assert request.decisions.count() == 1


def test_support_posting_approve_is_refused(client_for, alice, sam):
    request = submitted(alice)
    response = client_for(sam).post(page_of(request), {"transition": "approve"})
    assert _messages(response) == ["Approve refused: You do not have permission to do that."]
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_support_posting_a_blank_deny_is_refused_not_just_invalid(client_for, alice, sam):
    request = submitted(alice)
    response = client_for(sam).post(page_of(request), {"transition": "deny"})
    assert response.status_code == 400
    assert "Deny is not open to you on this request." in _messages(response)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_an_unknown_action_is_refused(client_for, alice, rita):
    request = submitted(alice)
    response = client_for(rita).post(page_of(request), {"transition": "mark_credited"})
    assert _messages(response) == ["That is not an action this page knows."]
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert RefundEvent.objects.filter(request=request).count() == 1


def test_a_pro_posting_is_sent_to_sign_in(client_for, alice):
    request = submitted(alice)
    response = client_for(alice).post(page_of(request), {"transition": "approve"})
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_a_missing_request_goes_back_to_the_queue(client_for, rita):
    response = client_for(rita).get(f"{QUEUE}999999/change/")
    assert response.status_code == 302


# What the page costs


@pytest.mark.parametrize("messages", [2, 40])
def test_the_page_costs_the_same_queries_for_any_number_of_messages(
    messages, client_for, alice, rita, django_assert_max_num_queries
):
    lead = chatty_lead(alice, messages=messages)
    for _ in range(3):
        RefundRequestFactory(lead__pro=alice, lead__customer_phone=lead.customer_phone)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    services.claim(reviewer=rita, request_id=request.pk, now=timezone.now())
    client = client_for(rita)
    client.get(page_of(request))
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(page_of(request))
    assert response.text.count("rq-msg__bubble") == messages


@pytest.mark.parametrize(
    ("requests", "leads", "text"),
    [(1, 1, "1 request on 1 lead;"), (3, 20, "3 requests on 20 leads;")],
)
def test_the_peer_line_counts_in_words(client_for, alice, rita, requests, leads, text):
    peers = {
        "comparable": True,
        "pro_requests": requests,
        "pro_leads": leads,
        "pro_rate": requests / leads,
        "peers": 6,
        "market_median": 0.05,
        "threshold": 0.1,
    }
    request = RefundRequestFactory(lead__pro=alice, assessment=assessment_json(peers=peers))
    assert text in client_for(rita).get(page_of(request)).text


# The decision bar's table


def test_the_action_table_is_every_staff_transition_with_its_permission():
    declared = {
        t.name: t.permission
        for t in RefundRequest._meta.get_field("status").get_all_transitions(RefundRequest)
        if t.permission
    }
    assert {a.name: a.permission for a in ACTIONS} == declared


def test_every_action_of_the_table_shows_its_label_and_works_from_the_page(
    client_for, alice, rita, sam, settings, django_capture_on_commit_callbacks
):
    """Each row's button is on the page for someone who may press it, and pressing it runs the
    row's command and says the row's message."""
    policy = settings.REFUND_POLICY
    for action in ACTIONS:
        settings.REFUND_POLICY = policy
        support = action.permission == permissions.RESOLVE_DISPUTE
        request = (
            disputed(django_capture_on_commit_callbacks, alice, rita)
            if support
            else submitted(alice)
        )
        if action.name == "reverse_credit":  # a credit whose conversation resumed after it
            request = resumed(django_capture_on_commit_callbacks, alice, rita)
        if action.name in ("keep_reversal", "restore_credit"):  # the pro disputed a reversal
            reverser = StaffFactory(roles=[Role.SUPPORT])
            request = reversal_disputed(django_capture_on_commit_callbacks, alice, rita, reverser)
        actor = sam if support else rita
        client = client_for(actor)
        if action.name == "release":
            services.claim(reviewer=rita, request_id=request.pk)
        if action.name == "undo":
            settings.REFUND_POLICY = {**policy, "UNDO_SECONDS": 60}
            services.approve(reviewer=rita, request_id=request.pk)
        html = client.get(page_of(request)).text
        label = action.label.format(price=f"${request.lead.price}")
        assert label in html, action.name
        data = {"transition": action.name}
        if action.form is not None:
            data.update(
                {
                    f"{action.name}-{field}": "Written for the test."
                    for field in action.form.base_fields
                }
            )
            data.update({f"{action.name}-{field}": v for field, v in PANEL_CHOICES.items()})
        response = client.post(page_of(request), data)
        assert response.status_code == 302, action.name
        done = action.done.format(
            pk=request.pk,
            price=f"${request.lead.price}",
            amount="$12.25" if action.name == "approve_part" else f"${request.lead.price}",
            pro=request.pro.display_name,
        )
        assert any(m.startswith(done) for m in _messages(response)), action.name
        assert RefundEvent.objects.filter(request=request, action=action.name).exists()
