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

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task

from accounts.models import LedgerEntry, Market, ServiceCategory
from integrations.models import ApiKey, ProLink
from refunds import services
from refunds.models import Credit, Decision, DenialTemplate, Dispute, RefundEvent
from tests.factories import LeadFactory, LedgerEntryFactory
from tests.refunds.staff_flows import disputed, run_on_commit, submitted

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
    # Only the superuser may change a user's password.
    "admin:auth_user_password_change": ("302 302 302 403 403 200", "302 302 302 403 403 200"),
    # The API answers to API keys only: a signed-in session is not one.
    # The API's documents are public and read-only; django-ninja serves them to any method.
    "api-v1:openapi-json": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "api-v1:openapi-view": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "api-v1:put_lead": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:put_message": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:put_attempt": ("405 405 405 405 405 405", "405 405 405 405 405 405"),
    "api-v1:get_refund_status": ("401 401 401 401 401 401", "405 405 405 405 405 405"),
    "api-v1:api-root": ("404 404 404 404 404 404", "404 404 404 404 404 404"),
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
    "refunds.denialtemplate": ("vac", "v", "vacd"),
    "integrations.apikey": ("", "", "vac"),
    "integrations.prolink": ("", "", "vacd"),
}

# Where an empty POST is not refused or answered with form errors: (right needed, status).
POST_EXCEPTIONS = {
    # The request page takes the buttons' POSTs from whoever may see it, and answers an empty
    # one with a redirect and "That is not an action this page knows."; the services check
    # each action's own permission (test_admin_request_page.py).
    ("refunds.refundrequest", "change"): ("v", 302),
    ("refunds.dispute", "change"): ("v", 302),
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


# The world the visitors look at


@pytest.fixture
def world(alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    lead = LeadFactory(pro=alice)
    open_request = submitted(alice)
    disputed_request = disputed(capture, alice, ralph)
    run_on_commit(capture, services.approve, reviewer=rita, request_id=submitted(alice).pk)
    notice = disputed_request.decisions.get().notice
    LeadFactory(pro=bob)  # bob has a page of his own, empty of alice's things
    monkeypatch.setattr(Conf, "SYNC", False)
    async_task("refunds.tasks.expire_claims")
    now = timezone.now()
    results = {
        success: Task.objects.create(
            id=f"matrix{success}",
            name=f"matrix-{success}",
            func="refunds.tasks.expire_claims",
            started=now - timedelta(seconds=1),
            stopped=now,
            success=success,
        )
        for success in (True, False)
    }
    key = ApiKey(name="Matrix", scopes=["status:read"])
    key.set_secret()
    key.save()
    objects = {
        "auth.group": Group.objects.get(name="pro"),
        "django_q.schedule": Schedule.objects.first(),
        "django_q.success": results[True],
        "django_q.failure": results[False],
        "django_q.ormq": OrmQ.objects.first(),
        "accounts.user": alice,
        "accounts.market": Market.objects.first(),
        "accounts.servicecategory": ServiceCategory.objects.first(),
        "accounts.proprofile": alice.pro_profile,
        "accounts.ledgerentry": LedgerEntry.objects.filter(pro=alice).first()
        or LedgerEntryFactory(pro=alice),
        "accounts.inboxmessage": notice,
        "leads.lead": lead,
        "refunds.refundrequest": disputed_request,
        "refunds.dispute": Dispute.objects.get(request=disputed_request),
        "refunds.credit": Credit.objects.first(),
        "refunds.decision": Decision.objects.first(),
        "refunds.refundevent": RefundEvent.objects.first(),
        "refunds.denialtemplate": DenialTemplate.objects.first(),
        "integrations.apikey": key,
        "integrations.prolink": ProLink.objects.create(marketplace_pro_id="mp-1", pro=alice),
    }
    assert all(objects.values()), objects
    pages = {
        "home": reverse("home"),
        "login": reverse("login"),
        "logout": reverse("logout"),
        "messages": reverse("messages"),
        "lead_thread": reverse("lead_thread", args=[lead.pk]),
        "send_message": reverse("send_message", args=[lead.pk]),
        "log_call": reverse("log_call", args=[lead.pk]),
        "report": reverse("report", args=[lead.pk]),
        "withdraw_request": reverse("withdraw_request", args=[open_request.pk]),
        "inbox": reverse("inbox"),
        "inbox_message": reverse("inbox_message", args=[notice.pk]),
        "dispute": reverse("dispute", args=[notice.pk]),
        "credits": reverse("credits"),
        "admin:index": reverse("admin:index"),
        "admin:login": reverse("admin:login"),
        "admin:logout": reverse("admin:logout"),
        "admin:password_change": reverse("admin:password_change"),
        "admin:password_change_done": reverse("admin:password_change_done"),
        "admin:autocomplete": reverse("admin:autocomplete"),
        "admin:jsi18n": reverse("admin:jsi18n"),
        "admin:view_on_site": reverse(
            "admin:view_on_site", args=[ContentType.objects.get_for_model(alice).pk, alice.pk]
        ),
        "admin:app_list": reverse("admin:app_list", args=["refunds"]),
        "admin:catch_all": "/admin/no-such-page/",
        "admin:auth_user_password_change": reverse(
            "admin:auth_user_password_change", args=[alice.pk]
        ),
        "api-v1:openapi-json": reverse("api-v1:openapi-json"),
        "api-v1:openapi-view": reverse("api-v1:openapi-view"),
        "api-v1:put_lead": reverse("api-v1:put_lead", args=[lead.marketplace_id]),
        "api-v1:put_message": reverse("api-v1:put_message", args=["mp-msg-1"]),
        "api-v1:put_attempt": reverse("api-v1:put_attempt", args=["mp-att-1"]),
        "api-v1:get_refund_status": reverse("api-v1:get_refund_status", args=[lead.marketplace_id]),
        "api-v1:api-root": reverse("api-v1:api-root"),
    }
    visitors = {
        "anon": None,
        "owner": alice,
        "other": bob,
        "reviewer": rita,
        "support": sam,
        "root": root,
    }
    return pages, objects, visitors


def admin_pages(objects: dict) -> dict[tuple[str, str], str]:
    pages = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        assert label in RIGHTS, f"{label} is in the admin: add it to RIGHTS with who may do what"
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pk = objects[label].pk
        pages[(label, "changelist")] = reverse(f"{info}_changelist")
        pages[(label, "add")] = reverse(f"{info}_add")
        pages[(label, "change")] = reverse(f"{info}_change", args=[pk])
        pages[(label, "delete")] = reverse(f"{info}_delete", args=[pk])
        pages[(label, "history")] = reverse(f"{info}_history", args=[pk])
        pages[(label, "redirect")] = reverse(f"{info}_change", args=[pk]).removesuffix("change/")
    return pages


def every_route() -> set[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    # ResolverMatch.route leaves out a regex's "^"; so does this list.
    return {route.replace("^", "") for route in walk(get_resolver().url_patterns)}


def test_every_url_answers_every_visitor_as_the_table_says(world):
    pages, objects, visitors = world
    cases: list[tuple[str, str, dict[str, int]]] = []  # (what, url, expected) per method
    for name, (get, post) in PAGES.items():
        cases.append((f"GET {name}", pages[name], statuses(get)))
        cases.append((f"POST {name}", pages[name], statuses(post)))
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
