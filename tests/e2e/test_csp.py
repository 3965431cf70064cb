"""The Content-Security-Policy breaks no page: Chromium refuses nothing on the main pages, with
their menus and panels opened (the page fixture fails a test on any "Refused to …")."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from refunds import services
from tests.factories import LeadFactory
from tests.refunds.staff_flows import chatty_lead, disputed, run_on_commit, submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "default-src 'self'" in response.headers["content-security-policy"], url
    page.wait_for_load_state("networkidle")


def test_the_watcher_sees_what_the_policy_refuses(page, sign_in, alice):
    sign_in(alice)
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.append(s); }"
    )
    assert page.evaluate("window.ran === undefined")
    page.wait_for_timeout(200)
    # Older Chromium: "Refused to execute inline script…"; newer: "Executing inline script
    # violates the following Content Security Policy directive…". The watcher knows both.
    assert any("inline script" in line for line in page.csp_refusals), page.csp_refusals
    page.csp_refusals.clear()  # seen on purpose: the fixture's check stays for the rest


def test_the_pros_pages_refuse_nothing(page, sign_in, alice):
    lead = chatty_lead(alice)
    reported = submitted(alice)
    sign_in(alice)

    visit(page, reverse("messages"))
    visit(page, reverse("lead_thread", args=[lead.pk]))
    page.get_by_role("button", name="More options").click()  # the ⋮ menu (Bootstrap, Popper)
    expect(page.locator(".options-menu").get_by_text("Report")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("textarea").first.fill("Line one\nLine two\nLine three")  # grows (thread.js)
    page.get_by_role("button", name="Log a call").click()  # the modal
    expect(page.locator("#log-call")).to_be_visible()

    visit(page, reverse("report", args=[lead.pk]))
    page.get_by_text("Duplicate lead").first.click()  # report.js
    visit(page, reverse("lead_thread", args=[reported.lead_id]))
    visit(page, reverse("inbox"))
    visit(page, reverse("credits"))


def test_the_admin_pages_refuse_nothing(
    page, sign_in, alice, rita, root, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    submitted(alice)
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.approve,
        reviewer=rita,
        request_id=submitted(alice).pk,
    )
    LeadFactory(pro=alice)
    sign_in(rita)

    visit(page, reverse("admin:index"))
    visit(page, reverse("admin:refunds_refundrequest_changelist"))
    visit(page, reverse("admin:refunds_refundrequest_change", args=[request.pk]))
    page.get_by_text("Deny…").click()  # the panel, with the template picker (review.js)
    expect(page.locator("details.rq-pop[open] .rq-pop__panel")).to_be_visible()
    picker = page.locator("select[data-template-picker]").first
    if picker.count():
        picker.select_option(index=1)
    for slug in ("promise", "capacity", "sources", "quality", "money"):
        visit(page, reverse("analytics:page", args=[slug]))
    visit(page, reverse("analytics:index"))

    page.get_by_role("button", name="Log out").click()
    sign_in(root)
    visit(page, reverse("admin:accounts_user_change", args=[alice.pk]))  # widgets, inline
    visit(page, reverse("admin:accounts_proprofile_add"))  # filter_horizontal's widget
    visit(page, reverse("admin:accounts_ledgerentry_changelist"))
    visit(page, reverse("admin:leads_lead_changelist"))


def test_the_disputes_page_refuses_nothing(
    page, sign_in, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    sign_in(sam)
    visit(page, reverse("admin:refunds_dispute_changelist"))
    visit(page, reverse("admin:refunds_dispute_change", args=[request.dispute.pk]))
    page.get_by_text("Uphold…").click()
    expect(page.locator("details.rq-pop[open] .rq-pop__panel")).to_be_visible()


def test_the_api_docs_work_under_the_policy(page):
    visit(page, reverse("api-v1:openapi-view"))
    # Swagger UI drew the document from its own files (no CDN, no inline script).
    expect(page.get_by_text("Lead refunds — ingest API")).to_be_visible()
    expect(page.get_by_text("/api/v1/leads/{lead_id}").first).to_be_visible()
    page.get_by_text("/api/v1/leads/{lead_id}").first.click()
    expect(page.get_by_text("Try it out").first).to_be_visible()


def test_the_sign_in_and_error_pages_refuse_nothing(page):
    visit(page, reverse("login"))
    visit(page, reverse("admin:login"))
