"""The headers every page is sent with: a Content-Security-Policy that allows no inline script
or style (django-csp), Permissions-Policy, and no-store on the pros' pages.

Every page of the project (the authorisation matrix's list, the admin's model pages included)
is read by the visitor who may see it; each HTML page must carry the policy and hold nothing
the policy would refuse: no <script> without src, no style="", no on…="" handlers, no <style>
(unless the policy names it by its hash). The browser test (tests/e2e/test_csp.py) looks at the
same pages in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.guarantees.site import admin_pages, build_world
from tests.guarantees.test_authorisation_matrix import PAGES, statuses

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        # A data block (json_script, ninja's settings) is not run, so not refused.
        data_block = names.get("type") in ("application/json", "text/template")
        if tag == "script" and not names.get("src") and not data_block:
            self.refused.append(self.get_starttag_text() or tag)
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.refused.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.refused.append(f"<{tag} {name}={value!r}>")
        self._in_style = tag == "style"
        if self._in_style:
            self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


def style_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def world(alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks):
    return build_world(
        alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks
    )


def readable_pages(world) -> list[tuple[str, str, str]]:
    """(what, url, role) for every page some visitor gets as 200: the pro's pages as their
    owner, the rest as the superuser."""
    pages, objects, _ = world
    found = []
    for name, (get, _) in PAGES.items():
        codes = statuses(get)
        role = "owner" if codes["owner"] == 200 and codes["root"] != 200 else "root"
        if codes[role] == 200:
            found.append((name, pages[name], role))
    for (model, page), url in admin_pages(objects).items():
        if page != "redirect":
            found.append((f"admin {model} {page}", url, "root"))
    return found


def test_every_page_has_the_policy_and_nothing_inline_it_would_refuse(world):
    _, _, visitors = world
    clients = {}
    problems: list[str] = []
    checked = 0
    for what, url, role in readable_pages(world):
        if role not in clients:
            clients[role] = Client()
            clients[role].force_login(visitors[role])
        response = clients[role].get(url)
        assert response.status_code in (200, 403), (what, response.status_code)
        if not response["Content-Type"].startswith("text/html"):
            continue  # JSON, CSV, JavaScript: no page (the probes answer before any header)
        assert "Content-Security-Policy" in response, what
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], what
        assert "Permissions-Policy" in response, what
        checked += 1
        parser = InlineCode()
        parser.feed(response.content.decode())
        problems += [f"{what}: {found}" for found in parser.refused]
        allowed = policy.get("style-src", [])
        problems += [
            f"{what}: <style> {style_hash(text)} not in the policy"
            for text in parser.styles
            if style_hash(text) not in allowed
        ]
    assert checked > 100
    assert problems == []


def test_the_policy_allows_no_inline_script_no_plugins_and_no_framing(client):
    policy = directives(client.get(reverse("login"))["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert "script-src" not in policy  # so 'self' only, from default-src
    assert "'unsafe-inline'" not in sum(policy.values(), [])
    assert "'unsafe-eval'" not in sum(policy.values(), [])
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]


def test_the_api_docs_and_static_files_carry_the_policy_too(client):
    docs = client.get(reverse("api-v1:openapi-view"))
    assert docs.status_code == 200
    assert directives(docs["Content-Security-Policy"])["default-src"] == ["'self'"]
    css = client.get("/static/css/app.css")
    assert css.status_code == 200
    assert "Content-Security-Policy" in css


def test_permissions_policy_turns_off_what_no_page_uses(client):
    value = client.get(reverse("login"))["Permissions-Policy"]
    features = dict(item.split("=") for item in value.split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


@pytest.mark.parametrize(
    "page", ["messages", "lead_thread", "report", "inbox", "inbox_message", "credits"]
)
def test_the_pros_pages_with_customer_details_are_never_stored(world, page):
    pages, _, visitors = world
    client = Client()
    client.force_login(visitors["owner"])
    response = client.get(pages[page])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
