"""A partial credit in a real browser: the reviewer approves half of the price from the Approve
part… panel, and the pro reads "$12.25 of $24.50" and why in the Inbox and on Credits."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from refunds import services
from refunds.choices import CreditStatus, Status
from tests.e2e.conftest import screenshot
from tests.refunds.staff_flows import submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PHONE = {"width": 390, "height": 844}
REASON = "The customer answered your first call, so we refund half of the price."


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_reviewer_approves_half_and_the_pro_sees_it_in_the_inbox_and_credits(
    page, sign_in, alice, rita, viewport
):
    request = submitted(alice, customer_name="Dana Whitfield", price=Decimal("24.50"))
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")

    # Approve is still one button for the whole price; the part is beside it, in a panel.
    expect(page.get_by_role("button", name="Approve · credit $24.50")).to_be_visible()
    page.get_by_text("Approve part…").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    expect(panel).to_be_visible()
    for label in ("25 %", "50 %", "75 %", "100 %"):
        expect(panel.get_by_label(label, exact=True)).to_be_visible()
    # No reason for a part: the panel comes back saying so, and nothing was decided.
    panel.get_by_label("50 %", exact=True).check()
    panel.get_by_role("button", name="Approve this part").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    expect(panel).to_contain_text("Tell the pro why only part of the price is refunded.")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED

    panel.get_by_label("50 %", exact=True).check()
    panel.get_by_label("Why part of the price").fill(REASON)
    screenshot(page, f"partial-panel-{'390' if viewport else '1280'}")
    panel.get_by_role("button", name="Approve this part").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Approved $12.25 of $24.50 on request #{request.pk}"
    )
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert request.credit.status == CreditStatus.POSTED
    assert request.credit.amount == Decimal("12.25")
    assert alice.balance() == Decimal("12.25")

    page.get_by_role("button", name="Log out").click()
    sign_in(alice)
    page.goto("/inbox/")
    page.get_by_text("Refund partly approved: Dana Whitfield").click()
    body = page.locator(".inbox-body")
    expect(body).to_contain_text("$12.25 of $24.50 has been added to your prepaid balance")
    expect(body).to_contain_text(f"Why part of the price: {REASON}")
    screenshot(page, f"partial-inbox-{'390' if viewport else '1280'}")

    page.goto("/credits/")
    expect(page.get_by_test_id("credit-amount")).to_have_text("+$12.25 of $24.50")
    expect(page.get_by_test_id("partial-reason")).to_have_text(f"Part of the price: {REASON}")
    expect(page.get_by_test_id("balance")).to_have_text("$12.25")
    screenshot(page, f"partial-credits-{'390' if viewport else '1280'}")


def test_the_a_key_still_approves_the_whole_price(page, sign_in, alice, rita):
    request = submitted(alice)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
    page.locator("body").press("a")
    expect(page.locator(".messagelist")).to_contain_text(f"Approved request #{request.pk}")
    request.refresh_from_db()
    assert request.credit.amount == Decimal("24.50")


def test_the_pro_disputes_a_partial_credit_and_support_tops_it_up(page, sign_in, alice, rita, sam):
    request = submitted(alice, customer_name="Dana Whitfield", price=Decimal("24.50"))
    services.approve_part(reviewer=rita, request_id=request.pk, share=50, reason=REASON)
    request.refresh_from_db()
    assert request.status == Status.CREDITED

    sign_in(alice)
    page.goto("/inbox/")
    page.get_by_text("Refund partly approved: Dana Whitfield").click()
    page.get_by_label("Why should we look again?").fill("The number was never the customer's.")
    page.get_by_role("button", name="Send dispute").click()
    expect(page.locator("body")).to_contain_text("support will look at your request again")
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    page.context.clear_cookies()

    sign_in(sam)
    page.goto(f"/admin/refunds/dispute/{request.dispute.pk}/change/")
    expect(page.locator(".rq-card--dispute")).to_contain_text("Approved ($12.25 of $24.50)")
    page.get_by_text("Overturn…").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    expect(panel.get_by_label("100 %", exact=True)).to_be_checked()
    panel.get_by_label("Note to the pro").fill("You are right: the number was fake.")
    panel.get_by_role("button", name="Overturn and credit").click()
    expect(page.locator(".messagelist")).to_contain_text("Overturned")
    assert alice.balance() == Decimal("24.50")
    page.context.clear_cookies()

    sign_in(alice)
    page.goto("/credits/")
    expect(page.get_by_test_id("credit-amount")).to_have_text("+$24.50")
    expect(page.get_by_test_id("balance")).to_have_text("$24.50")
    page.goto("/inbox/")
    page.get_by_text("Refund approved: Dana Whitfield").click()
    expect(page.locator(".inbox-body").first).to_contain_text(
        "In all you are refunded $24.50 of $24.50."
    )
    screenshot(page, "partial-topped-up-inbox")
