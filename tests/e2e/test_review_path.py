"""The reviewer's path in a real browser: queue → request page → Approve → credit → pro's Inbox."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.choices import Sender
from refunds import services
from refunds.choices import CreditStatus, Reason, Status
from refunds.models import RefundRequest
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory, MessageFactory
from tests.refunds.staff_flows import chatty_lead

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _queue_with_neighbours(alice, bob) -> RefundRequest:
    """alice's report of a chatty lead, among a few other requests in different states."""
    lead = chatty_lead(
        alice,
        messages=0,
        customer_name="Dana Whitfield",
        request_text="Roof leaking over the garage. Need it fixed this week.",
    )
    for minutes, sender, body in (
        (5, Sender.CUSTOMER, "Hi, I need someone to fix a leaking roof before the rain."),
        (12, Sender.PRO, "Hello Dana! We do plumbing only. Is there a plumbing issue too?"),
        (50, Sender.CUSTOMER, "No, it's only the roof.\nThe sink is fine."),
        (55, Sender.SYSTEM, "Dana shared a photo."),
    ):
        sent_at = lead.received_at + timedelta(minutes=minutes)
        MessageFactory(lead=lead, sender=sender, body=body, sent_at=sent_at)
    request = services.submit_report(
        pro=alice,
        lead_id=lead.pk,
        reason=Reason.WRONG_JOB,
        details="The customer wants a roof repaired; I only do plumbing.",
    )
    now = timezone.now()
    spam = LeadFactory(pro=bob, customer_name="Ellis Park")
    services.submit_report(
        pro=bob, lead_id=spam.pk, reason=Reason.SPAM, now=now - timedelta(hours=30)
    )
    silent = chatty_lead(bob, customer_name="Frankie Moss", messages=1)
    services.submit_report(
        pro=bob,
        lead_id=silent.pk,
        reason=Reason.INVALID_CONTACT,
        now=now - timedelta(hours=20),
    )
    return request


def test_reviewer_approves_and_the_pro_sees_it_in_the_inbox(page, sign_in, alice, bob, rita):
    request = _queue_with_neighbours(alice, bob)

    sign_in(rita)
    page.goto("/admin/refunds/refundrequest/")
    expect(page.get_by_role("heading", name="Refund requests to review")).to_be_visible()
    expect(page.locator("#queue-banner")).to_contain_text("1 request overdue")
    row = page.locator("#result_list tbody tr", has_text="Dana Whitfield")
    expect(row).to_contain_text("Meets policy")
    screenshot(page, "review-queue")

    row.get_by_role("link", name="Dana Whitfield").click()
    expect(page.get_by_role("heading", name=f"#{request.pk} · Wrong job type")).to_be_visible()
    thread = page.get_by_role("region", name="Conversation")
    expect(thread).to_contain_text("I need someone to fix a leaking roof")
    expect(thread).to_contain_text("We do plumbing only")
    expect(thread).to_contain_text("Dana shared a photo.")
    expect(thread.locator(".rq-msg--customer")).to_have_count(2)
    screenshot(page, "review-request-page")

    page.get_by_role("button", name="Approve · credit $24.50").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Approved request #{request.pk}")

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert request.credit.status == CreditStatus.POSTED
    assert alice.balance() == Decimal("24.50")

    page.get_by_role("button", name="Log out").click()
    sign_in(alice)
    page.goto("/inbox/")
    expect(page.get_by_text("Refund approved: Dana Whitfield")).to_be_visible()
    screenshot(page, "review-pro-inbox")


def test_a_denial_is_disputed_and_support_overturns_it(page, sign_in, alice, bob, rita, sam):
    request = _queue_with_neighbours(alice, bob)

    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
    page.get_by_text("Deny…").click()
    picker = page.get_by_label("Start from a template")
    picker.select_option(label="Not enough contact effort")
    explanation = page.get_by_label("Explanation to the pro")
    expect(explanation).to_have_value(re.compile("good-faith effort"))
    explanation.fill("The customer only asked about a roof, but plumbing was offered to them.")
    screenshot(page, "review-deny-panel")
    page.get_by_role("button", name="Deny and notify the pro").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Denied request #{request.pk}")
    page.get_by_role("button", name="Log out").click()

    sign_in(alice)
    page.goto("/inbox/")
    page.get_by_text("Refund denied: Dana Whitfield").click()
    expect(page.get_by_text("The customer only asked about a roof")).to_be_visible()
    page.get_by_label("Why should we look again?").fill("The thread shows the roof request.")
    page.get_by_role("button", name="Send dispute").click()
    page.wait_for_load_state()
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    page.goto("/")
    page.context.clear_cookies()

    sign_in(sam)
    page.goto("/admin/refunds/dispute/")
    expect(page.locator("#result_list")).to_contain_text("The thread shows the roof request.")
    expect(page.locator("#result_list")).to_contain_text("by rita@example.test")
    screenshot(page, "review-disputes-queue")
    page.locator("#result_list").get_by_role("link", name="Dana Whitfield").click()
    expect(page.locator(".rq-card--dispute")).to_contain_text("Denied by rita@example.test")
    screenshot(page, "review-dispute-page")
    page.get_by_text("Overturn…").click()
    page.get_by_label("Note to the pro").fill("You are right: the customer wanted a roofer.")
    page.get_by_role("button", name="Overturn and credit").click()
    expect(page.locator(".messagelist")).to_contain_text("Overturned")

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert alice.balance() == Decimal("24.50")
