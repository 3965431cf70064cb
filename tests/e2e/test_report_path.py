"""The pro's path from the help article in a real browser:
Marketing → Messages → lead → ⋮ → Report → the request's status on the thread.

Each page is photographed at desktop and phone widths into test-artifacts/.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.choices import LedgerKind
from leads.choices import Channel, Outcome, PaymentMethod, Sender
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import Dispute, RefundRequest
from tests.e2e.conftest import screenshot
from tests.factories import (
    ContactAttemptFactory,
    LeadFactory,
    LedgerEntryFactory,
    MessageFactory,
    ServiceCategoryFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _both_widths(page: Page, name: str) -> None:
    """Screenshot the current page at desktop and phone widths, ending back at desktop."""
    # A sticky top bar is drawn mid-page in a full-page shot of a scrolled page.
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


def _conversation(lead, lines):
    for minutes, sender, body in lines:
        MessageFactory(
            lead=lead,
            sender=sender,
            body=body,
            sent_at=lead.received_at + timedelta(minutes=minutes),
        )
        if sender == Sender.PRO:
            ContactAttemptFactory(
                lead=lead,
                channel=Channel.MESSAGE,
                attempted_at=lead.received_at + timedelta(minutes=minutes),
            )


def _alices_leads(alice):
    now = timezone.now()
    recent = LeadFactory(
        pro=alice,
        customer_name="Maria Lopez",
        request_text="Our roof leaks over the back bedroom after every storm. Need a repair quote.",
        received_at=now - timedelta(days=2, hours=3),
    )
    _conversation(
        recent,
        [
            (4, Sender.SYSTEM, "Maria asked for a quote."),
            (
                9,
                Sender.PRO,
                "Hi Maria, thanks for reaching out! Is the leak from a pipe or the roof?",
            ),
            (75, Sender.CUSTOMER, "It's the roof itself, the shingles are damaged."),
            (80, Sender.PRO, "I'm sorry, we only do plumbing. I hope you find a roofer soon."),
        ],
    )
    ContactAttemptFactory(
        lead=recent,
        channel=Channel.PHONE,
        outcome=Outcome.NO_ANSWER,
        note="Rang to double-check, no answer",
        attempted_at=recent.received_at + timedelta(hours=26),
    )
    old = LeadFactory(
        pro=alice,
        customer_name="Dan Whitfield",
        request_text="Water heater makes a banging noise.",
        received_at=now - timedelta(days=20),
    )
    _conversation(old, [(15, Sender.PRO, "Hello Dan, I can come on Thursday.")])
    cleaning = ServiceCategoryFactory(name="Drain cleaning")
    for days, name in ((1, "Priya Shah"), (5, "Tom Becker"), (9, "Grace Kim")):
        lead = LeadFactory(
            pro=alice,
            customer_name=name,
            category=cleaning,
            received_at=now - timedelta(days=days, hours=2),
        )
        _conversation(lead, [(30, Sender.CUSTOMER, "Is next Monday possible for you?")])
    return recent, old


def test_a_pro_reports_a_recent_lead(page, sign_in, alice):
    recent, _ = _alices_leads(alice)
    sign_in(alice)

    page.get_by_role("button", name="Marketing").click()
    page.get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    _both_widths(page, "pro-messages")

    page.get_by_role("link", name=re.compile("Maria Lopez")).click()
    expect(page.get_by_text("It's the roof itself, the shingles are damaged.")).to_be_visible()
    _both_widths(page, "pro-thread")

    page.get_by_role("button", name="More options").click()
    report = page.get_by_role("link", name="Report", exact=True)
    expect(report).to_be_visible()
    screenshot(page, "pro-thread-menu-1280")
    report.click()

    expect(page.get_by_role("heading", name="Report this lead")).to_be_visible()
    expect(page.get_by_text("Not covered by refunds")).to_be_visible()
    effort = page.locator('[data-effort="assessed"]')
    expect(effort).to_contain_text("Your contact effort meets our policy.")
    page.get_by_role("radio", name=re.compile("^Spam, fraud or abuse")).check()
    # Duplicates and spam have nobody genuine to reach: the panel says effort does not apply.
    expect(effort).to_be_hidden()
    expect(page.get_by_text("Contact effort does not apply to this reason.")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Wrong job type")).check()
    expect(effort).to_be_visible()
    page.get_by_label("Details for the reviewer").fill(
        "The customer needs a roofer; I only do plumbing."
    )
    _both_widths(page, "pro-report")

    page.get_by_role("button", name="Submit refund request").click()
    expect(page.get_by_text(re.compile("Refund requested — decision expected by"))).to_be_visible()
    expect(page.locator(".thread-header .status-badge").first).to_have_text("Refund submitted")
    _both_widths(page, "pro-thread-reported")

    request = RefundRequest.objects.get(lead=recent)
    assert request.status == Status.SUBMITTED
    assert request.reason == Reason.WRONG_JOB
    assert request.assessment["contact_effort"]["meets_policy"] is True

    page.get_by_role("button", name="More options").click()
    expect(page.get_by_role("link", name="Report", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Withdraw request")).to_be_visible()


def test_on_a_phone_the_panes_stack(page, sign_in, alice):
    recent, _ = _alices_leads(alice)
    page.set_viewport_size(PHONE)
    sign_in(alice)
    page.goto("/messages/")
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    expect(page.get_by_text("Choose a conversation")).to_be_hidden()
    page.get_by_role("link", name=re.compile("Maria Lopez")).click()
    expect(page.get_by_role("heading", name="Messages")).to_be_hidden()
    expect(page.get_by_role("button", name="More options")).to_be_visible()
    expect(page.get_by_role("button", name="Log a call")).to_be_visible()
    page.get_by_role("link", name="Back to messages").click()
    expect(page).to_have_url(re.compile("/messages/$"))
    expect(page.get_by_role("link", name=re.compile("Maria Lopez"))).to_be_visible()


def test_reporting_is_closed_on_a_20_day_old_lead(page, sign_in, alice):
    _, old = _alices_leads(alice)
    sign_in(alice)
    page.goto(f"/messages/{old.pk}/")
    page.get_by_role("button", name="More options").click()
    menu = page.locator(".options-menu")
    closed = services.report_deadline(old)
    expect(menu).to_contain_text(f"Reporting closed on {closed:%b} {closed.day}")
    expect(menu.get_by_role("link", name="Report", exact=True)).to_have_count(0)
    _both_widths(page, "pro-thread-closed")

    page.goto(f"/messages/{old.pk}/report/")
    expect(page.get_by_role("heading", name=re.compile("Reporting closed on"))).to_be_visible()
    expect(page.get_by_role("button", name="Submit refund request")).to_have_count(0)
    _both_widths(page, "pro-report-closed")
    assert not RefundRequest.objects.exists()


def test_the_form_warns_when_contact_effort_is_short(page, sign_in, alice):
    _alices_leads(alice)
    untouched = LeadFactory(pro=alice, customer_name="Lena Ortiz")
    sign_in(alice)
    page.goto(f"/messages/{untouched.pk}/report/")
    effort = page.locator('[data-effort="assessed"]')
    expect(effort).to_contain_text("Your contact effort is short of our policy.")
    expect(effort).to_contain_text("Try the customer by phone call.")
    page.get_by_role("radio", name=re.compile("^Duplicate lead")).check()
    expect(effort).to_be_hidden()
    page.get_by_role("radio", name=re.compile("^Invalid or fake contact info")).check()
    expect(effort).to_be_visible()
    _both_widths(page, "pro-report-short-effort")


def test_a_pro_sends_a_message_and_logs_a_call(page, sign_in, alice):
    recent, _ = _alices_leads(alice)
    page.emulate_media(reduced_motion="reduce")  # no fade: the screenshot shows the dialog whole
    sign_in(alice)
    page.goto(f"/messages/{recent.pk}/")
    page.get_by_label("Message", exact=True).fill("Just checking in, Maria.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble-pro").last).to_contain_text("Just checking in, Maria.")

    page.get_by_role("button", name="Log a call").click()
    dialog = page.get_by_role("dialog", name="Log a call")
    expect(dialog).to_be_visible()
    dialog.get_by_text("Left voicemail").click()
    dialog.get_by_label("Note").fill("Left a message about Thursday")
    screenshot(page, "pro-log-call-1280")
    dialog.get_by_role("button", name="Log call").click()
    expect(page.get_by_text("Call logged.")).to_be_visible()
    expect(page.locator(".attempt-row").last).to_contain_text("Call · Left voicemail")
    assert recent.contact_attempts.filter(channel=Channel.PHONE).count() == 2


def test_a_pro_reads_a_denial_and_disputes_it(page, sign_in, alice, rita):
    recent, _ = _alices_leads(alice)
    LedgerEntryFactory(
        pro=alice, kind=LedgerKind.TOP_UP, amount=Decimal("200.00"), memo="Card top-up"
    )
    LedgerEntryFactory(
        pro=alice, kind=LedgerKind.LEAD_PURCHASE, amount=Decimal("-24.50"), memo="Lead: Maria Lopez"
    )
    request = services.submit_report(pro=alice, lead_id=recent.pk, reason=Reason.WRONG_JOB)
    services.deny(
        reviewer=rita,
        request_id=request.pk,
        explanation="The customer asked for help with a leak, which matches plumbing.",
        guidance="Ask early whether the job is in your trade, and keep the answer in the chat.",
    )
    card_lead = LeadFactory(
        pro=alice,
        customer_name="Owen Grant",
        payment_method=PaymentMethod.CARD,
        price=Decimal("31.00"),
    )
    approved = services.submit_report(pro=alice, lead_id=card_lead.pk, reason=Reason.SPAM)
    services.approve(reviewer=rita, request_id=approved.pk)

    sign_in(alice)
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    _both_widths(page, "pro-inbox")

    page.get_by_role("link", name=re.compile("Refund denied: Maria Lopez")).click()
    expect(page.get_by_role("heading", name="Reply to dispute")).to_be_visible()
    _both_widths(page, "pro-inbox-denial")
    page.get_by_label("Why should we look again?").fill(
        "Maria wrote that the shingles are damaged: it is a roofing job, see the chat."
    )
    page.get_by_role("button", name="Send dispute").click()
    expect(
        page.get_by_text(re.compile("Support will answer here in your Inbox by .* UTC"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Reply to dispute")).to_have_count(0)
    assert Dispute.objects.get(request=request).request.status == Status.DISPUTED
    _both_widths(page, "pro-inbox-disputed")

    page.get_by_role("link", name=re.compile("^Credits")).click()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()
    expect(page.get_by_text("Refunding to card")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("$175.50")
    _both_widths(page, "pro-credits")

    page.goto(f"/messages/{recent.pk}/")
    expect(page.get_by_text(re.compile("you disputed it on"))).to_be_visible()
    _both_widths(page, "pro-thread-disputed")


def test_a_refused_report_takes_the_focus_to_what_to_fix(page, sign_in, alice):
    recent, _ = _alices_leads(alice)
    sign_in(alice)
    page.goto(f"/messages/{recent.pk}/report/")
    page.get_by_role("button", name="Submit refund request").click()
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choose the reason that fits this lead.")
    summary.get_by_role("link").first.click()
    expect(page.locator("#reason-wrong_job")).to_be_in_viewport()
    page.goto("/messages/")
    page.keyboard.press("Tab")  # the skip link is the first stop of a page
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
