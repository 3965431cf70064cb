"""Every page of every persona in the demo, at a desk's width and a phone's, through axe-core
(the copy axe-playwright-python ships, no network): no violation of impact serious or
critical, no sideways scrolling, every menu opened inside the screen, and a focus ring on the
controls axe cannot judge that has 3:1 against what is around it."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse
from django.utils.text import slugify
from playwright.sync_api import Page, expect

from accounts.models import InboxMessage
from leads.models import Lead
from refunds import services
from refunds.admin.analytics import PAGES
from refunds.choices import Status
from refunds.management.demo_data import PASSWORD
from refunds.models import Dispute, RefundRequest
from tests.e2e.conftest import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

AXE = Axe()
BLOCKING = ("serious", "critical")
WIDTHS = (1280, 390)
# The focused element's outline, and the first opaque background behind it.
RING = """element => {
  element.focus();
  const style = getComputedStyle(element);
  let backdrop = "rgb(255, 255, 255)";
  for (let node = element.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)") { backdrop = colour; break; }
  }
  return {
    shown: element.matches(":focus-visible") && style.outlineStyle !== "none",
    width: parseFloat(style.outlineWidth),
    colour: style.outlineColor,
    backdrop,
  };
}"""


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two opaque CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


class Sweep:
    """Checks the page as it stands and collects what fails, so one run lists all of it."""

    def __init__(self, page: Page, base: str, width: int) -> None:
        self.page = page
        self.base = base
        self.width = width
        self.problems: list[str] = []

    def visit(self, url: str, name: str) -> None:
        self.page.goto(url)
        self.check(name)

    def check(self, name: str) -> None:
        where = f"{name} ({self.page.url.removeprefix(self.base)}) at {self.width} px"
        found = [
            f"{where}: {violation['id']} ({violation['impact']}) {node['target']}"
            f" — {violation['help']}"
            for violation in AXE.run(self.page).response["violations"]
            if violation["impact"] in BLOCKING
            for node in violation["nodes"]
        ]
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > self.width:
            found.append(f"{where}: scrolls sideways, {scroll_width} px wide")
        if found:
            screenshot(self.page, f"a11y-{slugify(name)}-{self.width}")
        self.problems += found

    def inside(self, selector: str, name: str) -> None:
        """The (open) element lies within the screen's width."""
        box = self.page.locator(selector).bounding_box()
        assert box is not None, f"{name}: {selector} is not shown"
        if box["x"] < 0 or box["x"] + box["width"] > self.width:
            self.problems.append(f"{name} at {self.width} px: outside the screen, {box}")

    def focus_rings(self, *selectors: str) -> None:
        """Focused from the keyboard, each shows an outline of 2 px or more at 3:1."""
        self.page.keyboard.press("Shift")  # a key, so focus() counts as keyboard focus
        for selector in selectors:
            ring = self.page.locator(selector).first.evaluate(RING)
            ratio = contrast(ring["colour"], ring["backdrop"])
            if not ring["shown"] or ring["width"] < 2 or ratio < 3:
                self.problems.append(
                    f"focus ring of {selector} on {self.page.url.removeprefix(self.base)}"
                    f" at {self.width} px: {ring}, {ratio:.1f}:1"
                )

    def sign_in(self, email: str) -> None:
        self.page.context.clear_cookies()
        self.page.goto("/login/")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()


@pytest.fixture
def demo():
    """The demo data, and a dispute for support to open (a peer's reply to a denial)."""
    call_command("seed_demo", verbosity=0)
    denied = RefundRequest.objects.filter(status=Status.DENIED).exclude(pro__email="pro@demo.test")[
        0
    ]
    return services.open_dispute(
        pro=denied.pro, request_id=denied.pk, message="I called twice and wrote; nobody answered."
    )


def _pro_pages(sweep: Sweep) -> None:
    page = sweep.page
    sweep.sign_in("pro@demo.test")
    sweep.visit("/messages/", "Messages")
    phone = sweep.width < 768
    sweep.focus_rings(".navbar-brand", ".navbar-toggler" if phone else ".navbar .nav-link")
    if phone:
        page.get_by_role("button", name="Toggle navigation").click()
        expect(page.locator("#main-nav")).to_be_visible()
    page.get_by_role("button", name="Marketing").click()
    sweep.inside(".navbar .dropdown-menu.show", "the Marketing menu")

    # The customer's, the pro's and the system's messages, and a call.
    lead = Lead.objects.get(marketplace_id="demo-pro-three-days")
    sweep.visit(f"/messages/{lead.pk}/", "a thread")
    expect(page.get_by_role("heading", level=1, name=lead.customer_name)).to_be_visible()
    sweep.focus_rings(".options-button", ".composer .btn", ".composer-input")
    page.get_by_role("button", name="More options").click()
    sweep.inside(".thread-header .dropdown-menu.show", "the ⋮ menu")
    sweep.check("a thread, ⋮ menu open")

    sweep.visit(f"/messages/{lead.pk}/report/", "Report")
    page.get_by_role("button", name="Submit refund request").click()
    expect(page.locator("#form-errors")).to_be_focused()
    sweep.check("Report with errors")

    sweep.visit("/inbox/", "Inbox")
    # The denial (with the form to dispute it) and the approval.
    for message in InboxMessage.objects.filter(recipient__email="pro@demo.test"):
        sweep.visit(f"/inbox/{message.pk}/", f"Inbox: {message.subject}")
    sweep.visit("/credits/", "Credits")


def _staff_pages(sweep: Sweep, dispute: Dispute) -> None:
    page = sweep.page
    sweep.sign_in("reviewer@demo.test")
    sweep.visit("/admin/", "the reviewer's home")
    sweep.focus_rings("#header a", "a.rq-tile")
    sweep.visit("/admin/refunds/refundrequest/", "the queue")
    sweep.focus_rings(".breadcrumbs a", "#searchbar", "#toolbar [type=submit]", ".rq-start .rq-btn")
    for row in page.locator("#result_list tbody .action-select").all()[:2]:
        row.check()
    page.locator("select[name=action]").select_option("bulk_deny")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("button", name="Deny 2 requests")).to_be_visible()
    sweep.check("deny several")

    request = RefundRequest.objects.filter(status=Status.SUBMITTED).order_by("due_at")[0]
    sweep.visit(f"/admin/refunds/refundrequest/{request.pk}/change/", "a request page")
    sweep.focus_rings(".rq-bar__actions button.rq-btn", ".rq-bar__actions summary.rq-btn")
    page.get_by_text("Deny…").click()
    sweep.check("a request page, Deny open")
    sweep.visit("/admin/refunds/credit/", "credits")
    for slug, (name, _) in PAGES.items():
        sweep.visit(reverse("analytics:page", args=[slug]), f"analytics: {name}")

    sweep.sign_in("support@demo.test")
    sweep.visit("/admin/", "support's home")
    sweep.visit("/admin/refunds/dispute/", "disputes")
    sweep.visit(f"/admin/refunds/dispute/{dispute.pk}/change/", "a dispute")
    page.get_by_text("Uphold…").click()
    sweep.check("a dispute, Uphold open")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits_the_screen(page, live_server, demo, width):
    page.set_viewport_size({"width": width, "height": 900})
    sweep = Sweep(page, live_server.url, width)
    sweep.visit("/login/", "sign-in")
    _pro_pages(sweep)
    _staff_pages(sweep, demo)
    assert not sweep.problems, "\n".join(sweep.problems)
