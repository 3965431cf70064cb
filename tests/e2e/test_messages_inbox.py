"""Messages as an inbox in a real browser: search and filter by keyboard, the New reply mark
clearing when the thread is opened, at desktop and phone widths."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.choices import Sender
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory, MessageFactory, RefundRequestFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}


def _inbox(alice):
    now = timezone.now()
    maria = LeadFactory(
        pro=alice,
        customer_name="Maria Lopez",
        customer_phone="+15125550142",
        received_at=now - timedelta(days=3),
    )
    MessageFactory(lead=maria, sender=Sender.CUSTOMER, body="Is Thursday OK?", sent_at=now)
    LeadFactory(pro=alice, customer_name="Dan Whitfield", received_at=now - timedelta(days=1))
    reported = LeadFactory(
        pro=alice, customer_name="Olga Reported", received_at=now - timedelta(hours=1)
    )
    RefundRequestFactory(lead=reported)
    return maria


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["1280", "390"])
def test_a_pro_searches_and_filters_by_keyboard(page: Page, sign_in, alice, viewport):
    _inbox(alice)
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(alice)
    page.goto("/messages/")
    threads = page.locator(".thread-item")
    # Maria's reply is the latest activity: her thread is first, marked.
    expect(threads.first).to_contain_text("Maria Lopez")
    expect(threads.first).to_contain_text("New reply")

    search = page.get_by_label("Search by name, phone or email")
    search.focus()
    page.keyboard.type("(512) 555-0142")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q=%28512%29\+555-0142"))
    expect(threads).to_have_count(1)
    expect(threads.first).to_contain_text("Maria Lopez")

    # Tab from the box past its button to the filters, and choose one with Enter.
    search.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Reportable now")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"show=reported"))
    expect(page.get_by_text("No threads match “(512) 555-0142” in Reported.")).to_be_visible()
    screenshot(page, f"pro-messages-empty-{page.viewport_size['width']}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]

    page.get_by_role("link", name="Clear the search").click()
    expect(threads).to_have_count(1)
    expect(threads.first).to_contain_text("Olga Reported")

    page.get_by_role("link", name="All", exact=True).click()
    page.get_by_role("link", name=re.compile("Maria Lopez")).click()
    expect(page.locator(".bubble-body", has_text="Is Thursday OK?")).to_be_visible()
    if viewport:
        page.get_by_role("link", name="Back to messages").click()
    else:
        page.goto("/messages/")
    expect(page.locator(".thread-item").first).to_contain_text("Maria Lopez")
    expect(page.get_by_text("New reply")).to_have_count(0)
    screenshot(page, f"pro-messages-read-{page.viewport_size['width']}")
