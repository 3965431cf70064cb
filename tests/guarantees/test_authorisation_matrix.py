"""No one sees what is not theirs: every URL of the project, for every kind of visitor.

The URLs come from config.urls' resolver, so a new page without a line here fails the test.
Each is requested with GET and with an empty POST by six visitors:

    anon      not signed in
    owner     alice, the pro who owns the lead, request and inbox message in the URL
    other     bob, another pro in the same market
    reviewer  rita
    support   sam
    root      a superuser

Pros never get into the admin (a redirect to the admin's sign-in, which tells them they are not
allowed); a pro asking for another pro's lead, request or message gets 404, exactly as if it did
not exist. Staff are sent from the pro pages to the admin. An empty POST changes nothing except
where the table says so (the owner's withdrawal, signing out).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve, reverse

from tests.guarantees.site import admin_pages, build_world, every_route

pytestmark = pytest.mark.django_db

ROLES = ("anon", "owner", "other", "reviewer", "support", "root")


def statuses(line: str) -> dict[str, int]:
    codes = [int(code) for code in line.split()]
    assert len(codes) == len(ROLES), line
    return dict(zip(ROLES, codes, strict=True))


# Everything outside the admin's model pages: (GET, POST) for anon owner other reviewer support root

PAGES: dict[str, tuple[str, str]] = {
    "home": ("302 302 302 302 302 302", "405 405 405 405 405 405"),
    "login": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "logout": ("405 405 405 405 405 405", "302 302 302 302 302 302"),
    # The pro pages
    "messages": ("302 200 200 302 302 302", "405 405 405 405 405 405"),
    "lead_thread": ("302 200 404 302 302 302", "405 405 405 405 405 405"),
    "send_message": ("405 405 405 405 405 405", "302 200 404 302 302 302"),
    "log_call": ("405 405 405 405 405 405", "302 200 404 302 302 302"),
    "report": ("302 200 404 302 302 302", "302 200 404 302 302 302"),
    "withdraw_request": ("405 405 405 405 405 405", "302 302 404 302 302 302"),
    "inbox": ("302 200 200 302 302 302", "405 405 405 405 405 405"),
    "inbox_message": ("302 200 404 302 302 302", "405 405 405 405 405 405"),
    "dispute": ("405 405 405 405 405 405", "302 200 404 302 302 302"),
    "credits": ("302 200 200 302 302 302", "405 405 405 405 405 405"),
    # The admin site's own views
    "admin:index": ("302 302 302 200 200 200", "302 302 302 200 200 200"),
    "admin:login": ("200 200 200 302 302 302", "200 200 200 200 200 200"),
    # Signing out sends everyone to the sign-in page (LOGOUT_REDIRECT_URL).
    "admin:logout": ("302 302 302 405 405 405", "302 302 302 302 302 302"),
    "admin:password_change": ("302 302 302 200 200 200", "302 302 302 200 200 200"),
    "admin:password_change_done": ("302 302 302 200 200 200", "302 302 302 405 405 405"),
    # Without its parameters the autocomplete refuses everyone.
    "admin:autocomplete": ("302 302 302 403 403 403", "302 302 302 405 405 405"),
    "admin:jsi18n": ("302 302 302 200 200 200", "302 302 302 405 405 405"),
    # Users have no public page to go to.
    "admin:view_on_site": ("302 302 302 404 404 404", "302 302 302 404 404 404"),
    "admin:app_list": ("302 302 302 200 200 200", "302 302 302 200 200 200"),
    # An unknown admin address: staff get 404; others are sent to sign in, learning nothing.
    "admin:catch_all": ("302 302 302 404 404 404", "302 302 302 404 404 404"),
    # Start reviewing claims the queue's most urgent request: reviewers (and the superuser).
    "admin:refunds_refundrequest_start": ("302 302 302 405 405 405", "302 302 302 302 403 302"),
    # Analytics: reviewers, support and the superuser (refunds.view_analytics).
    "analytics:index": ("302 302 302 200 200 200", "302 302 302 405 405 405"),
    "analytics:page": ("302 302 302 200 200 200", "302 302 302 405 405 405"),
    # Only the superuser may change a user's password.
    "admin:auth_user_password_change": ("302 302 302 403 403 200", "302 302 302 403 403 200"),
    # The API answers to API keys only: a signed-in session is not one.
    # The API's documents are public and read-only.
    "api-v1:openapi-json": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "api-v1:openapi-view": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "api-v1:put_lead": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:put_message": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:put_attempt": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:get_refund_status": ("401 401 401 401 401 401", "405 405 405 405 405 405"),
    "api-v1:api-root": ("404 404 404 404 404 404", "404 404 404 404 404 404"),
    # The load balancer's probes: anyone may ask, nobody may post.
    "health_live": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "health_ready": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    # Metrics answer the METRICS_TOKEN only: a signed-in session is not it.
    "metrics": ("401 401 401 401 401 401", "405 405 405 405 405 405"),
}

# The admin's model pages: what each staff role may do with each registered model.
# v view, a add, c change, d delete; for reviewer, support, root. Pros and anon: never.

RIGHTS: dict[str, tuple[str, str, str]] = {
    "auth.group": ("", "", "vacd"),
    "django_q.schedule": ("", "", "vacd"),
    "django_q.success": ("", "", "vcd"),
    "django_q.failure": ("", "", "vcd"),
    "django_q.ormq": ("", "", "vcd"),
    "accounts.user": ("", "v", "vacd"),
    "accounts.market": ("v", "v", "vacd"),
    "accounts.servicecategory": ("v", "v", "vacd"),
    "accounts.proprofile": ("v", "v", "vacd"),
    "accounts.ledgerentry": ("", "v", "v"),
    "accounts.inboxmessage": ("", "v", "v"),
    "leads.lead": ("v", "v", "v"),
    "refunds.refundrequest": ("v", "v", "v"),
    "refunds.dispute": ("v", "v", "v"),
    "refunds.credit": ("v", "v", "v"),
    "refunds.decision": ("v", "v", "v"),
    "refunds.refundevent": ("v", "v", "v"),
    "refunds.spotcheck": ("v", "v", "v"),
    # Disputed reversals are support's: reviewers see the reversal on the request page only.
    "refunds.reversaldispute": ("", "v", "v"),
    "refunds.denialtemplate": ("vac", "v", "vacd"),
    "integrations.apikey": ("", "", "vac"),
    "integrations.prolink": ("", "", "vacd"),
    # Webhooks are the operator's: endpoints (with their secret) and the delivery log, whose
    # rows are never edited or deleted; Send again is the log's one action.
    "webhooks.webhookendpoint": ("", "", "vacd"),
    "webhooks.delivery": ("", "", "v"),
}

# Where an empty POST is not refused or answered with form errors: (right needed, status).
POST_EXCEPTIONS = {
    # The request page takes the buttons' POSTs from whoever may see it, and answers an empty
    # one with a redirect and "That is not an action this page knows."; the services check
    # each action's own permission (test_admin_request_page.py).
    ("refunds.refundrequest", "change"): ("v", 302),
    ("refunds.dispute", "change"): ("v", 302),
    ("refunds.spotcheck", "change"): ("v", 302),
    ("refunds.reversaldispute", "change"): ("v", 302),
    # Task results have only read-only fields: the form is valid and saving changes nothing.
    ("django_q.success", "change"): ("c", 302),
    ("django_q.failure", "change"): ("c", 302),
}


def admin_expectation(model: str, page: str, method: str) -> dict[str, int]:
    """The status for each role on one admin model page, from RIGHTS.

    changelist, history: view → 200. add: add → 200 (an empty POST shows form errors).
    change: GET needs view, POST needs change (form errors: 200). delete: delete → 200 (an empty
    POST shows the confirmation again). <id>/: a redirect to the change page for all staff.
    Refused: 403. Pros and anonymous visitors: to the admin's sign-in page (302).
    """
    expected = {"anon": 302, "owner": 302, "other": 302}
    for role, rights in zip(("reviewer", "support", "root"), RIGHTS[model], strict=True):
        needed = {
            "changelist": "v",
            "history": "v",
            "add": "a",
            "change": "c" if method == "POST" else "v",
            "delete": "d",
        }.get(page)
        allowed = 200
        if method == "POST" and (model, page) in POST_EXCEPTIONS:
            needed, allowed = POST_EXCEPTIONS[(model, page)]
        if needed is None:  # the bare <id>/ redirect
            expected[role] = 302
        else:
            expected[role] = allowed if needed in rights else 403
    return expected


# The world the visitors look at (tests/guarantees/site.py)


@pytest.fixture
def world(alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks):
    return build_world(
        alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks
    )


def test_every_url_answers_every_visitor_as_the_table_says(world):
    pages, objects, visitors = world
    cases: list[tuple[str, str, dict[str, int]]] = []  # (what, url, expected) per method
    for name, (get, post) in PAGES.items():
        cases.append((f"GET {name}", pages[name], statuses(get)))
        cases.append((f"POST {name}", pages[name], statuses(post)))
    assert {label for label, _ in admin_pages(objects)} <= set(RIGHTS), "add the model to RIGHTS"
    for (model, page), url in admin_pages(objects).items():
        for method in ("GET", "POST"):
            expected = admin_expectation(model, page, method)
            cases.append((f"{method} admin {model} {page}", url, expected))

    # Every route in config.urls is requested at least once.
    requested = {resolve(url).route for _, url, _ in cases}
    assert every_route() - requested == set()

    clients = {role: Client() for role in ROLES}

    def sign_in(role: str) -> None:
        if visitors[role] is not None:
            clients[role].force_login(visitors[role])

    for role in ROLES:
        sign_in(role)
    wrong = []
    for what, url, expected in cases:
        method, _, _ = what.partition(" ")
        for role in ROLES:
            client = clients[role]
            response = client.get(url) if method == "GET" else client.post(url, {})
            if response.status_code != expected[role]:
                wrong.append(f"{what} as {role}: {response.status_code}, not {expected[role]}")
            if (
                role in ("owner", "other")
                and url.startswith("/admin/")
                and response.status_code == 302
            ):
                # Pros are refused the admin: always to its sign-in page, never inside.
                assert response.url.startswith(reverse("admin:login")) or "logout" in url, what
            if "logout" in url:
                sign_in(role)
    assert wrong == [], "\n".join(wrong)


def test_a_session_is_not_an_api_key(world):
    pages, _, visitors = world
    for role, user in visitors.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for name in ("api-v1:put_lead", "api-v1:put_message", "api-v1:put_attempt"):
            response = client.put(pages[name], "{}", content_type="application/json")
            assert response.status_code == 401, (role, name)
