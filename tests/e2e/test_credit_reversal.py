"""A credit reversed by support, as the pro meets it in a real browser: support reverses it on
the request page, with the conversation after the credit highlighted; the pro reads why in their
Inbox and sees the debit on the Credits page. The Content-Security-Policy watcher stays clean."""

import pytest
from playwright.sync_api import expect

from refunds.models import CreditReversal
from tests.e2e.conftest import screenshot
from tests.refunds.staff_flows import resumed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PHONE = {"width": 390, "height": 844}
WHY = "The customer booked the job with you two days after the refund."


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_reversal_seen_by_the_pro(
    page, sign_in, alice, rita, sam, viewport, django_capture_on_commit_callbacks
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
