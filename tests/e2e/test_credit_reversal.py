"""A credit reversed by support, as the pro meets it in a real browser: support reverses it on
the request page, with the conversation after the credit highlighted; the pro reads why in their
Inbox and sees the debit on the Credits page; the pro disputes the reversal from the Inbox, and
another member of support restores the credit from the disputed reversals list, which the pro
reads in the Inbox and sees on the Credits page. The Content-Security-Policy watcher stays
clean."""

import pytest
from playwright.sync_api import expect

from refunds.models import CreditReversal, ReversalDispute
from tests.e2e.conftest import screenshot
from tests.refunds.staff_flows import resumed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PHONE = {"width": 390, "height": 844}
WHY = "The customer booked the job with you two days after the refund."
DISPUTE = "The customer wrote about a second job, not this one."
RESTORED = "You are right: the thread is about another job."


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_reversal_seen_by_the_pro(
    page, sign_in, alice, rita, sam, sue, viewport, django_capture_on_commit_callbacks
):
    request = resumed(django_capture_on_commit_callbacks, alice, rita)
    if viewport:
        page.set_viewport_size(viewport)

    sign_in(sam)
    page.goto("/admin/refunds/refundrequest/?state=credited&resumed=yes")
    page.get_by_role("link", name=request.lead.customer_name).click()
    expect(page.locator("#resumed-heading")).to_contain_text("Conversation resumed")
    expect(page.locator(".rq-msg--after-credit")).to_have_count(2)
    page.get_by_text("Reverse the credit…").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    panel.locator("[name='reverse_credit-explanation']").fill(WHY)
    panel.get_by_role("button", name="Reverse and tell the pro").click()
    expect(page.locator(".messagelist")).to_contain_text("Reversed the credit of request")
    assert CreditReversal.objects.filter(credit__request=request).exists()
    width = page.viewport_size["width"]
    screenshot(page, f"credit-reversed-admin-{width}")
    page.context.clear_cookies()

    sign_in(alice)
    page.goto("/inbox/")
    page.get_by_role("link", name=f"Refund reversed: {request.lead.customer_name}").click()
    expect(
        page.get_by_text("$24.50 has been taken back from your prepaid balance.")
    ).to_be_visible()
    expect(page.get_by_text(WHY)).to_be_visible()
    screenshot(page, f"credit-reversed-inbox-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto("/credits/")
    expect(page.get_by_text("−$24.50").first).to_be_visible()
    screenshot(page, f"credit-reversed-credits-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # The pro disputes the reversal from its message, and is told when support answers.
    page.goto("/inbox/")
    page.get_by_role("link", name=f"Refund reversed: {request.lead.customer_name}").click()
    expect(page.get_by_role("heading", name="Reply to dispute the reversal")).to_be_visible()
    page.get_by_label("Why should we look again?").fill(DISPUTE)
    page.get_by_role("button", name="Send dispute").click()
    expect(
        page.get_by_text("support will look at your request again and answer here by")
    ).to_be_visible()
    expect(page.get_by_test_id("reversal-dispute")).to_contain_text("Support will answer here")
    dispute = ReversalDispute.objects.get(reversal__credit__request=request)
    assert dispute.message == DISPUTE
    screenshot(page, f"reversal-disputed-inbox-{width}")
    page.context.clear_cookies()

    # Another member of support (sam reversed it) restores the credit from the list.
    sign_in(sue)
    page.goto("/admin/")
    page.get_by_role("link", name="Disputed reversals waiting").click()
    page.get_by_role("link", name=request.lead.customer_name).click()
    expect(page.locator("#reversal-dispute-heading")).to_contain_text("Reversal disputed")
    page.get_by_text("Restore the credit…").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    panel.locator("[name='restore_credit-note']").fill(RESTORED)
    panel.get_by_role("button", name="Restore and tell the pro").click()
    expect(page.locator(".messagelist")).to_contain_text("Restored the credit of request")
    screenshot(page, f"reversal-restored-admin-{width}")
    page.context.clear_cookies()

    # The pro reads the answer, and sees the money back.
    sign_in(alice)
    page.goto("/inbox/")
    page.get_by_role(
        "link", name=f"Dispute reviewed: refund restored ({request.lead.customer_name})"
    ).click()
    expect(
        page.get_by_text("$24.50 has been added back to your prepaid balance", exact=False)
    ).to_be_visible()
    expect(page.get_by_text(RESTORED, exact=False)).to_be_visible()
    screenshot(page, f"reversal-restored-inbox-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto("/credits/")
    expect(page.get_by_text("Restored", exact=True)).to_be_visible()
    screenshot(page, f"reversal-restored-credits-{width}")
    assert page.csp_refusals == []
