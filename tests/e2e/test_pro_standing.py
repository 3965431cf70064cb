"""A pro at the refund-rate limit in a real browser: the Credits page shows where they stand, the
report form warns before the request the rule would deny, the pro sends it anyway, and the
denial in the Inbox leads back to the standing. At desktop and phone widths."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory, ProFactory, RefundRequestFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}
AXE = Axe()


def _at_the_limit(alice):
    """Five peers at 10% (the limit: above 4 of alice's 20 leads), alice at 4 of 20."""
    for _ in range(5):
        leads = LeadFactory.create_batch(10, pro=ProFactory())
        RefundRequestFactory(lead=leads[0])
    leads = LeadFactory.create_batch(20, pro=alice, customer_name="Rita Gomez")
    for lead in leads[:4]:
        RefundRequestFactory(lead=lead)
    return leads[-1]


def _fits(page: Page) -> None:
    """No sideways scrolling, and nothing axe-core rates serious or critical."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    violations = [
        f"{violation['id']}: {node['target']}"
        for violation in AXE.run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]
    assert violations == []


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_pro_at_the_limit_sees_it_is_warned_and_sends_anyway(
    page: Page, sign_in, alice, viewport, live_server
):
    lead = _at_the_limit(alice)
    if viewport:
        page.set_viewport_size(viewport)
    width = page.viewport_size["width"]
    sign_in(alice)

    page.goto("/credits/")
    standing = page.locator("#standing")
    expect(standing.get_by_role("heading", name="Your refund rate")).to_be_visible()
    expect(standing.get_by_text("At the limit")).to_be_visible()
    chart = standing.get_by_role("img", name=re.compile("Refund rate, last 90 days"))
    expect(chart).to_be_visible()
    expect(standing).to_contain_text("You asked for refunds on 4 of 20 leads in the last 90 days.")
    expect(standing).to_contain_text("Above 4 of 20, requests are denied automatically.")
    _fits(page)
    standing.scroll_into_view_if_needed()
    screenshot(page, f"pro-standing-{width}")

    page.goto(reverse("report", args=[lead.pk]))
    warning = page.locator("#auto-denial-warning")
    expect(warning).to_contain_text("This request would be denied automatically")
    expect(warning).to_contain_text("this request would make it 5")
    _fits(page)
    screenshot(page, f"pro-report-warning-{width}")
    page.get_by_label(re.compile("Wrong job")).check()
    page.get_by_role("button", name="Submit refund request").click()
    expect(page.get_by_text("Your refund request was denied automatically.")).to_be_visible()

    page.goto("/inbox/")
    page.get_by_role("link", name=re.compile("Rita Gomez")).first.click()
    page.get_by_role("link", name="See your refund rate against pros near you").click()
    expect(page).to_have_url(re.compile(r"/credits/#standing$"))
    expect(page.locator("#standing").get_by_text("Above the limit")).to_be_visible()
    _fits(page)
