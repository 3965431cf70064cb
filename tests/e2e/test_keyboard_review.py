"""Reviewer capacity in a real browser: five approvals by keyboard alone, the denial by keyboard,
Undo, and a duplicate lead credited with no reviewer at all."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import ProLink
from refunds import services
from refunds.choices import DecisionKind, Reason, Status
from refunds.models import RefundRequest
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory, ProFactory
from tests.refunds.staff_flows import chatty_lead

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def undo_window(settings):
    """The product's own undo window (the suite runs without one)."""
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}


def open_requests(alice, bob, n: int) -> list[RefundRequest]:
    """n open requests of two pros, most urgent first."""
    now = timezone.now()
    made = []
    for i in range(n):
        pro = alice if i % 2 else bob
        lead = chatty_lead(pro, customer_name=f"Customer {i}")
        reason = (Reason.WRONG_JOB, Reason.SPAM, Reason.HIRED_BEFORE_CONTACT)[i % 3]
        made.append(
            services.submit_report(
                pro=pro, lead_id=lead.pk, reason=reason, now=now - timedelta(hours=20 - i)
            )
        )
    return made


class Keyboard:
    """Presses keys and counts them: the target is a number of key presses."""

    def __init__(self, page):
        self.page = page
        self.presses = 0

    def press(self, key: str) -> None:
        self.presses += 1
        self.page.keyboard.press(key)


def test_a_reviewer_approves_five_requests_with_at_most_eight_keys(
    page, sign_in, alice, bob, rita, undo_window
):
    requests = open_requests(alice, bob, 6)
    sign_in(rita)  # the sign-in form; from here on, the keyboard only
    keys = Keyboard(page)
    if "/admin/refunds/refundrequest/" not in page.url:
        expect(page.get_by_role("button", name="Start reviewing")).to_be_visible()
    keys.press("s")
    for request in requests[:5]:
        expect(page.get_by_role("heading", name=re.compile(rf"^#{request.pk} · "))).to_be_visible()
        keys.press("a")
        expect(page.locator(".messagelist")).to_contain_text(f"Approved request #{request.pk}")
    assert keys.presses <= 8, keys.presses
    screenshot(page, "keyboard-after-five")

    for request in requests[:5]:
        request.refresh_from_db()
        assert request.status == Status.REVIEWED  # the undo window holds the credits back
        assert request.decisions.get().decided_by == rita
    sixth = RefundRequest.objects.get(pk=requests[5].pk)
    assert sixth.status == Status.IN_REVIEW and sixth.claimed_by == rita

    # u takes the last decision back: it is in review again, claimed by the same reviewer.
    expect(page.locator(".rq-undo")).to_contain_text(f"Approved request #{requests[4].pk}")
    keys.press("u")
    expect(page.locator(".messagelist")).to_contain_text("Took back your decision")
    last = RefundRequest.objects.get(pk=requests[4].pk)
    assert last.status == Status.IN_REVIEW and last.claimed_by == rita
    assert not hasattr(last, "credit") or last.credit is None


def test_the_denial_by_keyboard_and_the_shortcut_list(page, sign_in, alice, bob, rita):
    first, second = open_requests(alice, bob, 2)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{first.pk}/change/")
    page.keyboard.press("?")
    help_list = page.locator("#rq-keys")
    expect(help_list).to_be_visible()
    expect(help_list).to_contain_text("Approve")
    page.keyboard.press("?")
    expect(help_list).to_be_hidden()

    page.keyboard.press("d")
    explanation = page.get_by_label("Explanation to the pro")
    expect(explanation).to_be_focused()
    # Typing in a field is typing: 'a' here approves nothing.
    explanation.press("Control+End")
    page.keyboard.type(" Also: a")
    expect(explanation).to_have_value(re.compile("Also: a$"))
    # The template picker does not throw away what was typed without asking.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_label("Start from a template").select_option(label="No reply from the customer")
    expect(explanation).to_have_value(re.compile("Also: a$"))
    picker = page.get_by_label("Start from a template")
    expect(picker.locator("option:checked")).not_to_have_text("No reply from the customer")
    screenshot(page, "keyboard-deny-panel")
    explanation.press("Control+Enter")
    expect(page.locator(".messagelist")).to_contain_text(f"Denied request #{first.pk}")
    first.refresh_from_db()
    assert first.status == Status.DENIED
    assert first.decisions.get().explanation.endswith("Also: a")
    # ... and the next request opened, claimed.
    expect(page.get_by_role("heading", name=re.compile(rf"^#{second.pk} · "))).to_be_visible()


def test_on_a_phone_the_undo_bar_and_start_reviewing_fit(
    page, sign_in, alice, bob, rita, undo_window
):
    requests = open_requests(alice, bob, 2)
    page.set_viewport_size(PHONE)
    sign_in(rita)
    page.goto("/admin/refunds/refundrequest/")
    start = page.get_by_role("button", name="Start reviewing")
    start.click()
    page.get_by_role("button", name=re.compile("^Approve")).click()
    bar = page.locator(".rq-undo")
    expect(bar).to_contain_text(f"Approved request #{requests[0].pk}")
    box = bar.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "keyboard-undo-390")
    bar.get_by_role("button", name="Undo").click()
    expect(page.locator(".messagelist")).to_contain_text("Took back your decision")


def test_a_duplicate_reported_by_the_pro_is_credited_with_no_reviewer(
    page, sign_in, alice, tmp_path
):
    """The twin lead arrives through import_leads; the pro reports it from the thread."""
    earlier = LeadFactory(
        pro=alice,
        customer_name="Robin Hale",
        customer_phone="+15125550177",
        received_at=timezone.now() - timedelta(days=4),
    )
    ProLink.objects.create(marketplace_pro_id="mp-alice", pro=alice)
    twin = {
        "type": "lead",
        "id": "MP-TWIN-1",
        "pro_id": "mp-alice",
        "customer_name": "Robin Hale",
        "customer_phone": "(512) 555-0177",
        "customer_email": "robin.hale@example.com",
        "category": earlier.category.slug,
        "location": "Austin, TX 78704",
        "request_text": "Kitchen faucet drips all night.",
        "price": "24.50",
        "payment_method": "balance",
        "received_at": (timezone.now() - timedelta(hours=5)).isoformat(),
    }
    path = tmp_path / "twin.jsonl"
    path.write_text(json.dumps(twin) + "\n")
    call_command("import_leads", str(path), stdout=StringIO(), stderr=StringIO())
    ProFactory()  # another pro in the market, so nothing else is compared

    sign_in(alice)
    page.get_by_role("button", name="Marketing").click()
    page.locator(".dropdown-menu").get_by_role("link", name="Messages").click()
    page.get_by_role("link", name=re.compile("Robin Hale Today")).click()
    page.get_by_role("button", name="More options").click()
    page.get_by_role("link", name="Report", exact=True).click()
    page.get_by_role("radio", name=re.compile("^Duplicate lead")).check()
    page.get_by_role("button", name="Submit refund request").click()
    expect(page.get_by_role("alert")).to_contain_text("approved automatically")
    expect(page.get_by_text("Refund approved automatically")).to_be_visible()
    screenshot(page, "auto-approved-duplicate")

    request = RefundRequest.objects.get(lead__marketplace_id="MP-TWIN-1")
    assert request.status == Status.CREDITED
    decision = request.decisions.get()
    assert decision.kind == DecisionKind.AUTO_APPROVAL and decision.decided_by is None
    assert decision.facts["earlier_leads"] == [earlier.pk]
    page.goto("/inbox/")
    expect(page.get_by_text("Refund approved: Robin Hale")).to_be_visible()
