"""Headless Chromium (Debian's package) driven by Playwright against the live test server.

Where Chromium is not installed the browser tests are skipped with a message, unless
REQUIRE_BROWSER=1 (set by .ci/run), where its absence is a failure.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts")

# Playwright's sync API runs an event loop; Django refuses ORM calls from such a thread
# unless told this is deliberate. The tests touch the ORM only to arrange data and to assert.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but Chromium is not at {CHROMIUM}")
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium to run these)"
    )
    for item in items:
        if "e2e" in item.nodeid.split("/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


def is_csp_violation(text: str) -> bool:
    """Chromium's console line for what the Content-Security-Policy refused: "Refused to …"
    or, in newer versions, "… violates the following Content Security Policy directive"."""
    return "Refused to" in text or "Content Security Policy" in text


@pytest.fixture
def page(browser, live_server):
    """A page of the live server. Every browser test also checks the Content-Security-Policy:
    anything it refused on the way (Chromium says "Refused to …" in the console) fails it."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []
    page.csp_refusals = refused
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text}")
            if message.type == "error" and is_csp_violation(message.text)
            else None
        ),
    )
    yield page
    context.close()
    assert refused == [], "the Content-Security-Policy refused something"


@pytest.fixture
def sign_in(page, password):
    def sign_in_as(user):
        page.goto("/login/")
        page.get_by_label("Email address").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return sign_in_as


def screenshot(page, name: str) -> str:
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.abspath(os.path.join(ARTIFACTS, f"{name}.png"))
    page.screenshot(path=path, full_page=True)
    return path
