"""Every decision panel of the request page opens inside the screen, at a phone's width and at
every wider one, and on a phone it can be filled in and sent; so can the Approve button, the
panel the server sends back with an error, and the list of shortcuts (the bar's actions come
from refunds.admin.actions)."""

import pytest
from playwright.sync_api import expect

from accounts.choices import Role
from refunds.admin.actions import ACTIONS
from refunds.choices import Status
from refunds.models import RefundRequest
from tests.e2e.conftest import screenshot
from tests.factories import StaffFactory
from tests.refunds.staff_flows import disputed, resumed, reversal_disputed, submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PHONE = {"width": 390, "height": 844}
PANELS = [action for action in ACTIONS if action.form is not None]
# Where the admin's and the bar's layouts change (640, 767, 1024 px) and either side of them.
WIDTHS = (320, 390, 640, 641, 700, 768, 900, 1024, 1025, 1280, 1600)


def fill_panel(panel, action) -> None:
    """Every text field written in; how much of the price (Approve part, Overturn): half."""
    for name in action.form.base_fields:
        if name == "share":
            panel.get_by_label("50 %", exact=True).check()
        elif name != "amount":
            panel.locator(f"[name='{action.name}-{name}']").fill("Written on a phone.")


def _assert_inside(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    width = page.viewport_size["width"]
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= width, box
    # No sideways scrolling either: the page is no wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("action", PANELS, ids=[action.name for action in PANELS])
def test_each_panel_opens_inside_a_phone_screen_and_sends(
    page, sign_in, alice, rita, sam, action, django_capture_on_commit_callbacks
):
    answering = action.name in ("keep_reversal", "restore_credit")  # a disputed reversal
    support = action.name in ("overturn", "uphold", "reverse_credit") or answering
    request = (
        disputed(django_capture_on_commit_callbacks, alice, rita) if support else submitted(alice)
    )
    if action.name == "reverse_credit":  # a credit whose conversation resumed after it
        request = resumed(django_capture_on_commit_callbacks, alice, rita)
    if answering:  # another member of support reversed it; sam answers
        reverser = StaffFactory(roles=[Role.SUPPORT])
        request = reversal_disputed(django_capture_on_commit_callbacks, alice, rita, reverser)
    page.set_viewport_size(PHONE)
    sign_in(sam if support else rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")

    page.get_by_text(action.label).click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    expect(panel).to_be_visible()
    _assert_inside(page, panel)
    screenshot(page, f"panel-{action.name}-390")
    fill_panel(panel, action)
    submit = panel.get_by_role("button", name=action.submit)
    _assert_inside(page, submit)
    submit.click()
    expect(page.locator(".messagelist")).to_contain_text(f"request #{request.pk}")
    request.refresh_from_db()
    assert request.status != (
        Status.DISPUTED if action.name in ("overturn", "uphold") else Status.SUBMITTED
    )
    assert RefundRequest.objects.get(pk=request.pk).events.filter(action=action.name).exists()


def test_approve_is_inside_a_phone_screen_and_works(page, sign_in, alice, rita):
    request = submitted(alice)
    page.set_viewport_size(PHONE)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
    approve = page.get_by_role("button", name=f"Approve · credit ${request.lead.price}")
    _assert_inside(page, approve)
    approve.click()
    expect(page.locator(".messagelist")).to_contain_text(f"Approved request #{request.pk}")
    request.refresh_from_db()
    assert request.status in (Status.REVIEWED, Status.CREDITED)


@pytest.mark.parametrize("who", ["reviewer", "support"])
def test_every_panel_opens_inside_the_screen_at_every_width(
    page, sign_in, alice, rita, sam, who, django_capture_on_commit_callbacks
):
    """Unclaimed, the reviewer's bar starts with Claim; the panels hang from the bar's right
    edge, not from their own button, so none opens off the left edge whatever wraps where."""
    if who == "support":
        request, person = disputed(django_capture_on_commit_callbacks, alice, rita), sam
    else:
        request, person = submitted(alice), rita
    sign_in(person)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
        summaries = page.locator(".rq-bar__actions summary.rq-btn")
        expect(summaries).to_have_count(2)  # Approve part… and Deny…; Overturn… and Uphold…
        for button in page.locator(".rq-bar__actions .rq-btn").all():
            _assert_inside(page, button)
        for summary in summaries.all():
            summary.click()
            panel = page.locator("details.rq-pop[open] .rq-pop__panel")
            expect(panel).to_be_visible()
            _assert_inside(page, panel)
            summary.click()
            expect(panel).to_have_count(0)
    screenshot(page, f"panels-{who}-{width}")


def test_a_panel_sent_back_with_an_error_opens_inside_a_phone_screen(page, sign_in, alice, rita):
    request = submitted(alice)
    page.set_viewport_size(PHONE)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
    page.get_by_text("Deny…").click()
    panel = page.locator("details.rq-pop[open] .rq-pop__panel")
    panel.get_by_label("Explanation to the pro").fill("   ")  # passes the browser, not the form
    panel.get_by_label("Guidance for future leads").fill("Written on a phone.")
    panel.get_by_role("button", name="Deny and notify the pro").click()
    expect(panel).to_contain_text("This field is required.")
    _assert_inside(page, panel)
    screenshot(page, "panel-deny-error-390")
    request.refresh_from_db()
    assert request.status != Status.DENIED


def test_the_shortcut_list_is_inside_a_phone_screen(page, sign_in, alice, rita):
    request = submitted(alice)
    page.set_viewport_size(PHONE)
    sign_in(rita)
    page.goto(f"/admin/refunds/refundrequest/{request.pk}/change/")
    page.get_by_role("button", name="Shortcuts").click()
    shortcuts = page.locator("#rq-keys")
    expect(shortcuts).to_be_visible()
    _assert_inside(page, shortcuts)
