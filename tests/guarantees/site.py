"""The site as the guarantees' tests see it: one object of each kind, and every URL.

Shared by the authorisation matrix and the CSRF sweep, so both cover the same URLs: all of
config.urls' routes, checked against the resolver.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task

from accounts.models import LedgerEntry, Market, ServiceCategory
from integrations.models import ApiKey, ProLink
from refunds import services
from refunds.models import (
    Credit,
    Decision,
    DenialTemplate,
    Dispute,
    RefundEvent,
    ReversalDispute,
    SpotCheck,
)
from tests.factories import LeadFactory, LedgerEntryFactory, ProFactory
from tests.refunds.staff_flows import disputed, reversal_disputed, run_on_commit, submitted
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Event, WebhookEndpoint


def automatic_approval_spot_check(capture) -> SpotCheck:
    """A duplicate lead approved by its rule, picked for a spot check (a pro of its own)."""
    carol = ProFactory()
    LeadFactory(pro=carol, received_at=timezone.now() - timedelta(days=5))
    twin = LeadFactory(pro=carol)
    with capture(execute=True):
        request = services.submit_report(pro=carol, lead_id=twin.pk, reason="duplicate")
    decision = request.decisions.get()
    return SpotCheck.objects.get_or_create(decision=decision)[0]


def build_world(alice, bob, rita, ralph, sam, root, monkeypatch, capture):
    """The objects every URL is asked about, the URLs by name, and the visitors by role."""
    lead = LeadFactory(pro=alice)
    open_request = submitted(alice)
    disputed_request = disputed(capture, alice, ralph)
    run_on_commit(capture, services.approve, reviewer=rita, request_id=submitted(alice).pk)
    notice = disputed_request.decisions.get().notice
    LeadFactory(pro=bob)  # bob has a page of his own, empty of alice's things
    spot_check = automatic_approval_spot_check(capture)
    # A credit support took back, and alice disputed the reversal.
    reversal_disputed(capture, alice, rita, sam)
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
    services.record_heartbeat()  # a worker is running: /health/ready passes
    # Metrics are on, so the matrix shows that no session, the superuser's included, opens them.
    monkeypatch.setattr(settings, "METRICS_TOKEN", "matrix-metrics-token-0123456789abcdef")
    # Made after the services ran, so nothing was sent to it; its log has one delivery.
    endpoint = WebhookEndpoint.objects.create(
        url="https://marketplace.example.test/hooks", events=EventType.values
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event=Event.objects.first(),
        status=DeliveryStatus.SUCCEEDED,
        response_code=200,
        attempts=1,
        last_attempt_at=now,
        retry_until=now + timedelta(days=1),
    )
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
        "refunds.spotcheck": spot_check,
        "refunds.reversaldispute": ReversalDispute.objects.first(),
        "integrations.apikey": key,
        "integrations.prolink": ProLink.objects.create(marketplace_pro_id="mp-1", pro=alice),
        "webhooks.webhookendpoint": endpoint,
        "webhooks.delivery": delivery,
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
        "admin:refunds_refundrequest_start": reverse("admin:refunds_refundrequest_start"),
        "analytics:index": reverse("analytics:index"),
        "analytics:page": reverse("analytics:page", args=["promise"]),
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
        "health_live": reverse("health_live"),
        "health_ready": reverse("health_ready"),
        "metrics": reverse("metrics"),
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
    """Every page of every model registered in the admin, for the objects built above."""
    pages = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        assert label in objects, f"{label} is in the admin: build one in build_world"
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
    """Every route config.urls answers, as ResolverMatch.route names it."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    # ResolverMatch.route leaves out a regex's "^"; so does this list.
    return {route.replace("^", "") for route in walk(get_resolver().url_patterns)}
