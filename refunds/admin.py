"""The back office: the reviewers' queue, the request page, and support's disputes queue.

Admin classes stay thin. Every change of state goes through refunds/services.py, which checks
permission and state again under the row lock; the page only hides buttons that would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape as escape_html
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeData, SafeString
from django_fsm import ConcurrentTransition

from accounts.admin import ReadOnlyAdmin
from accounts.models import User
from leads.models import Lead
from refunds import services
from refunds.choices import (
    OPEN_STATUSES,
    STATUS_COLOURS,
    DisputeStatus,
    Reason,
    Status,
)
from refunds.models import (
    Credit,
    Decision,
    DenialTemplate,
    Dispute,
    RefundEvent,
    RefundRequest,
)
from refunds.permissions import DECIDE as DECIDE_PERMISSION
from refunds.permissions import RETRY_CREDIT
from refunds.policy import CHANNEL_LABELS

REVIEW_TEMPLATE = "admin/refunds/refundrequest/review.html"
BULK_DENY_TEMPLATE = "admin/refunds/refundrequest/bulk_deny.html"
HISTORY_SIZE = 10
# The queue is dense: the full label is the cell's tooltip.
REASON_SHORT = {
    Reason.WRONG_JOB: "Wrong job",
    Reason.INVALID_CONTACT: "Bad contact info",
    Reason.DUPLICATE: "Duplicate",
    Reason.HIRED_BEFORE_CONTACT: "Hired before contact",
    Reason.SPAM: "Spam / fraud",
}
SAME_CUSTOMER_SIZE = 20


# Small presentation helpers, shared by the queue, the request page and the disputes queue


def html(template: str, *args: Any) -> SafeString:
    """format_html for the queue's cells: the same escaping, without the lazy-string wrappers
    that made it the queue's largest single cost (about a dozen calls per row)."""
    return SafeString(
        template.format(*(a if isinstance(a, SafeData) else escape_html(str(a)) for a in args))
    )


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m"


def _date(iso: str) -> str:
    try:
        return f"{datetime.fromisoformat(iso):%b %-d}"
    except ValueError:
        return iso


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return _duration(timedelta(hours=value))


@dataclass(frozen=True)
class Clock:
    """How much time a request has left before its decision is due."""

    text: str
    level: str  # ok, warn, late: the colour of the chip


def review_clock(request: RefundRequest, now: datetime) -> Clock | None:
    """None once the request is decided: there is no clock to show any more."""
    if request.status not in OPEN_STATUSES:
        return None
    left = request.due_at - now
    if left < timedelta(0):
        return Clock(f"{_duration(left)} overdue", "late")
    # Amber in the last quarter of the review time.
    review = timedelta(hours=settings.REFUND_POLICY["REVIEW_HOURS"])
    level = "warn" if left < review / 4 else "ok"
    return Clock(f"{_duration(left)} left", level)


def status_badge(status: str, label: str) -> str:
    return html(
        '<span class="rq-badge rq-badge--{}">{}</span>', STATUS_COLOURS[Status(status)], label
    )


def contact_effort_verdict(assessment: dict) -> tuple[str, str, list[str]]:
    """(short text, level, what is missing) from the stored assessment."""
    effort = assessment.get("contact_effort")
    if not effort:
        return "—", "muted", []
    if not assessment.get("contact_effort_matters", True):
        return "Not needed", "muted", ["Contact effort does not matter for this reason."]
    if effort.get("meets_policy"):
        return "Meets policy", "ok", []
    gaps = []
    if not effort.get("enough_attempts"):
        count = effort.get("attempts", 0)
        gaps.append(f"{count} attempt{'' if count == 1 else 's'}")
    unused = set(effort.get("channels_available", [])) - set(effort.get("channels_used", []))
    gaps += [f"no {'call' if channel == 'phone' else 'message'}" for channel in sorted(unused)]
    if not effort.get("waited_long_enough"):
        gaps.append("too soon")
    return "Short: " + ", ".join(gaps), "warn", effort.get("missing", [])


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def refund_rate_verdict(assessment: dict) -> tuple[str, str]:
    """(short text, level): the pro's refund rate against the market's limit."""
    peers = assessment.get("peers")
    if not peers:
        return "—", "muted"
    rate = _percent(peers.get("pro_rate"))
    if not peers.get("comparable"):
        return f"{rate} · no comparison", "muted"
    limit = _percent(peers.get("threshold"))
    if peers.get("auto_deny"):
        return f"{rate} · over {limit}", "late"
    return f"{rate} · limit {limit}", "ok"


def _live_claim(request: RefundRequest, now: datetime) -> bool:
    return (
        request.status == Status.IN_REVIEW
        and request.claimed_by_id is not None
        and request.claimed_until is not None
        and request.claimed_until > now
    )


# Queue filters


class StateFilter(admin.SimpleListFilter):
    """Opens on the work still to do; every state, and all of them, one click away."""

    title = "state"
    parameter_name = "state"
    default = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open (to decide)"), *Status.choices, ("all", "All")]

    def value(self) -> str:
        return super().value() or self.default

    def choices(self, changelist: Any):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "all":
            return queryset
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset.filter(status__in=OPEN_STATUSES)


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "On time")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        late = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(late)
        if self.value() == "no":
            return queryset.exclude(late)
        return queryset


class ClaimFilter(admin.SimpleListFilter):
    title = "claimed"
    parameter_name = "claimed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "By me"), ("others", "By someone else"), ("nobody", "Not claimed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        live = Q(status=Status.IN_REVIEW, claimed_until__gt=timezone.now())
        if self.value() == "me":
            return queryset.filter(live, claimed_by=request.user)
        if self.value() == "others":
            return queryset.filter(live).exclude(claimed_by=request.user)
        if self.value() == "nobody":
            return queryset.exclude(live)
        return queryset


class MarketFilter(admin.RelatedFieldListFilter):
    @property
    def include_empty_choice(self) -> bool:
        return False


# Forms of the request page and the bulk action


class DenialForm(forms.Form):
    """The explanation and guidance a pro receives with a denial (or an upheld dispute)."""

    explanation = forms.CharField(
        label="Explanation to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    guidance = forms.CharField(
        label="Guidance for future leads",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OverturnForm(forms.Form):
    note = forms.CharField(
        label="Note to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="We looked at your reply and agree: this lead should be refunded.",
    )


def ordered_templates(reasons: set[str]) -> list[tuple[str, list[DenialTemplate]]]:
    """Denial templates grouped for the picker: the request's reason first, then general ones."""
    groups: dict[str, list[DenialTemplate]] = {"reason": [], "general": [], "other": []}
    for template in DenialTemplate.objects.all():
        if template.reason and template.reason in reasons:
            groups["reason"].append(template)
        elif not template.reason:
            groups["general"].append(template)
        else:
            groups["other"].append(template)
    labels = {
        "reason": "For "
        + (
            " / ".join(Reason(r).label.lower() for r in sorted(reasons))
            if reasons
            else "this reason"
        ),
        "general": "Any reason",
        "other": "Other reasons",
    }
    return [(labels[key], items) for key, items in groups.items() if items]


def _first_template(groups: list[tuple[str, list[DenialTemplate]]]) -> DenialTemplate | None:
    return groups[0][1][0] if groups else None


# The request page, shared by the queue and the disputes queue


ACTION_VERBS = {
    "claim": "Claim",
    "release": "Release",
    "approve": "Approve",
    "deny": "Deny",
    "overturn": "Overturn",
    "uphold": "Uphold",
}


def _load_request(pk: int) -> RefundRequest:
    return (
        RefundRequest.objects.select_related(
            "lead__category",
            "pro__pro_profile__market",
            "claimed_by",
            "credit",
            "dispute",
        )
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("decided_by")),
            Prefetch("events", queryset=RefundEvent.objects.select_related("actor")),
        )
        .get(pk=pk)
    )


def _timeline(request: RefundRequest) -> list[dict]:
    """The lead's messages and contact attempts in the order they happened, report marked."""
    lead = request.lead
    items = [{"kind": "message", "at": m.sent_at, "obj": m} for m in lead.messages.all()]
    items += [
        {"kind": "attempt", "at": a.attempted_at, "obj": a} for a in lead.contact_attempts.all()
    ]
    items.append({"kind": "report", "at": request.submitted_at, "obj": request})
    items.sort(key=lambda item: item["at"])
    return items


def _checklist(request: RefundRequest) -> list[dict]:
    """The stored assessment as lines a reviewer reads at a glance.

    `state` is ok / warn / bad / info; `relevant` marks the facts that bear on the reason given.
    """
    a = request.assessment or {}
    if not a:
        return []
    reason = request.reason
    lines: list[dict] = []

    deadline = a.get("report_deadline", "")
    lines.append(
        {
            "label": "Reported within the window",
            "state": "ok" if a.get("window_open") else "bad",
            "detail": f"The lead was {_hours(a.get('lead_age_hours'))} old when reported"
            + (f"; reporting closes {_date(deadline)}" if deadline else ""),
        }
    )

    text, level, missing = contact_effort_verdict(a)
    effort = a.get("contact_effort", {})
    attempts = effort.get("attempts", 0)
    channels = (
        " and ".join(CHANNEL_LABELS.get(c, c) for c in effort.get("channels_used", []))
        or "no channel"
    )
    lines.append(
        {
            "label": "Good-faith contact effort",
            "state": {"ok": "ok", "warn": "warn"}.get(level, "info"),
            "detail": (
                f"{attempts} attempt{'' if attempts == 1 else 's'} by {channels}; the first "
                f"{_hours(effort.get('hours_since_first'))} before the report"
                if a.get("contact_effort_matters", True)
                else "Not needed for this reason"
            ),
            "missing": missing if level == "warn" else [],
        }
    )

    peers = a.get("peers", {})
    rate_text, rate_level = refund_rate_verdict(a)
    if peers.get("comparable"):
        requests, leads = peers.get("pro_requests"), peers.get("pro_leads")
        peer_detail = (
            f"{requests} request{pluralize(requests)} on {leads} lead{pluralize(leads)}; "
            f"market of {peers.get('peers')} pros: median {_percent(peers.get('market_median'))}, "
            f"limit {_percent(peers.get('threshold'))}"
        )
    else:
        peer_detail = peers.get("why", "")
    lines.append(
        {
            "label": f"Refund rate {rate_text}",
            "state": {"ok": "ok", "late": "bad"}.get(rate_level, "info"),
            "detail": peer_detail,
        }
    )

    duplicates = a.get("duplicate_lead_ids", [])
    lines.append(
        {
            "label": "Duplicate candidates",
            "state": "warn" if duplicates else "info",
            "detail": "Same phone or email, same pro, within the duplicate window"
            if duplicates
            else "None: no other lead with this phone or email for this pro",
            "links": [
                (f"Lead #{pk}", reverse("admin:leads_lead_change", args=[pk])) for pk in duplicates
            ],
            "relevant": reason == Reason.DUPLICATE,
        }
    )

    for label, key, missing_text in (
        ("Phone number looks valid", "phone_valid", "No phone number given"),
        ("Email address looks valid", "email_valid", "No email address given"),
    ):
        value = a.get(key)
        lines.append(
            {
                "label": label,
                "state": "info" if value is None else ("ok" if value else "bad"),
                "detail": missing_text if value is None else ("Yes" if value else "No"),
                "relevant": reason == Reason.INVALID_CONTACT,
            }
        )

    offered = a.get("category_offered")
    lines.append(
        {
            "label": "Category offered by the pro",
            "state": "ok" if offered else "bad",
            "detail": f"{request.lead.category} is {'' if offered else 'not '}on the pro's profile",
            "relevant": reason == Reason.WRONG_JOB,
        }
    )
    in_area = a.get("in_service_area")
    lines.append(
        {
            "label": "In the pro's service area",
            "state": "ok" if in_area else "bad",
            "detail": f"{request.lead.location}",
            "relevant": reason == Reason.WRONG_JOB,
        }
    )
    first = a.get("first_response_hours")
    lines.append(
        {
            "label": "First response",
            "state": "info" if first is None else ("ok" if first <= 24 else "warn"),
            "detail": "The pro never replied or called"
            if first is None
            else f"{_hours(first)} after the lead arrived",
            "relevant": reason == Reason.HIRED_BEFORE_CONTACT,
        }
    )
    return lines


def _pro_history(request: RefundRequest, now: datetime) -> dict:
    window = services.params().peer_window_days
    since = now - timedelta(days=window)
    recent = list(
        RefundRequest.objects.filter(pro_id=request.pro_id)
        .exclude(pk=request.pk)
        .select_related("lead__category")
        .order_by("-submitted_at")[:HISTORY_SIZE]
    )
    by_status = dict(
        RefundRequest.objects.filter(pro_id=request.pro_id, submitted_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    leads = Lead.objects.filter(pro_id=request.pro_id, received_at__gte=since).count()
    return {
        "window_days": window,
        "requests": sum(by_status.values()),
        "leads": leads,
        "by_status": [
            (Status(value).label, by_status[value], STATUS_COLOURS[Status(value)])
            for value in Status.values
            if by_status.get(value)
        ],
        "recent": recent,
    }


def _same_customer(request: RefundRequest) -> list[Lead]:
    """Other leads with this customer's phone or email, for any pro (hired elsewhere? spam?)."""
    lead = request.lead
    match = Q()
    if lead.customer_phone:
        match |= Q(customer_phone=lead.customer_phone)
    if lead.customer_email:
        # Emails are stored lower-cased: an exact match uses the index (iexact would scan).
        match |= Q(customer_email=lead.customer_email)
    if not match:
        return []
    return list(
        Lead.objects.filter(match)
        .exclude(pk=lead.pk)
        .select_related("pro__pro_profile", "category", "refund_request")
        .order_by("-received_at")[:SAME_CUSTOMER_SIZE]
    )


def _no_action_reason(request: RefundRequest, user: User, now: datetime) -> str:
    """Why the bar has no buttons, so nobody wonders whether the page is broken."""
    if _live_claim(request, now) and request.claimed_by_id != user.pk:
        return f"{request.claimed_by} is reviewing this request."
    if request.status in OPEN_STATUSES and not user.has_perm(DECIDE_PERMISSION):
        return "Reviewers decide open requests."
    if request.status == Status.REVIEWED:
        return "Decided; the worker is sending the credit or the notice."
    if request.status == Status.DISPUTED:
        if not user.has_perm("refunds.resolve_dispute"):
            return "Support resolves disputes."
        return "You decided this request, so another member of support must resolve the dispute."
    if request.status in (Status.CREDITED, Status.DENIED, Status.WITHDRAWN):
        return f"This request is {request.get_status_display().lower()}; nothing left to decide."
    return "No action is open to you on this request."


class RequestPage:
    """Builds and handles the request page for one admin (the queue's or the disputes')."""

    def __init__(self, model_admin: admin.ModelAdmin, changelist_name: str) -> None:
        self.model_admin = model_admin
        self.changelist_name = changelist_name

    def render(
        self,
        http: HttpRequest,
        refund: RefundRequest,
        *,
        obj: Any,
        bound: dict[str, forms.Form] | None = None,
        open_panel: str = "",
        status: int = 200,
    ) -> TemplateResponse:
        now = timezone.now()
        user = http.user
        actions = services.allowed_actions(refund, user, now)
        decisions = list(refund.decisions.all())
        template_groups = ordered_templates({refund.reason}) if actions & {"deny", "uphold"} else []
        first = _first_template(template_groups)
        initial = {"explanation": first.explanation, "guidance": first.guidance} if first else {}
        bound = bound or {}
        forms_by_action = {
            "deny": bound.get("deny") or DenialForm(prefix="deny", initial=initial),
            "uphold": bound.get("uphold") or DenialForm(prefix="uphold", initial=initial),
            "overturn": bound.get("overturn") or OverturnForm(prefix="overturn"),
        }
        dispute = getattr(refund, "dispute", None)
        disputed_decision = None
        if dispute is not None:
            before = [d for d in decisions if d.decided_at <= dispute.opened_at]
            disputed_decision = before[-1] if before else None
        timeline = _timeline(refund)
        model_admin = self.model_admin
        opts = model_admin.model._meta
        context = {
            **model_admin.admin_site.each_context(http),
            "title": f"Refund request #{refund.pk}",
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "original": obj,
            "refund": refund,
            "lead": refund.lead,
            "profile": getattr(refund.pro, "pro_profile", None),
            "clock": review_clock(refund, now),
            "live_claim": _live_claim(refund, now),
            "actions": actions,
            "no_action_reason": "" if actions else _no_action_reason(refund, user, now),
            "forms": forms_by_action,
            "open_panel": open_panel,
            "template_groups": template_groups,
            "selected_template": first,
            "timeline": timeline,
            "message_count": sum(1 for item in timeline if item["kind"] == "message"),
            "attempt_count": sum(1 for item in timeline if item["kind"] == "attempt"),
            "checklist": _checklist(refund),
            "decisions": decisions,
            "credit": getattr(refund, "credit", None),
            "dispute": dispute,
            "disputed_decision": disputed_decision,
            "events": list(refund.events.all()),
            "history": _pro_history(refund, now),
            "same_customer": _same_customer(refund),
            "duplicate_ids": set(refund.assessment.get("duplicate_lead_ids", [])),
            "changelist_url": reverse(f"admin:{self.changelist_name}"),
            "media": model_admin.media,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(http, REVIEW_TEMPLATE, context, status=status)

    def handle_post(self, http: HttpRequest, refund: RefundRequest, *, obj: Any) -> HttpResponse:
        action = http.POST.get("transition", "")
        user = http.user
        here = http.get_full_path()
        if action not in ACTION_VERBS:
            messages.error(http, "That is not an action this page knows.")
            return HttpResponseRedirect(here)
        try:
            if action == "claim":
                services.claim(reviewer=user, request_id=refund.pk)
                messages.success(http, f"You claimed request #{refund.pk}.")
                return HttpResponseRedirect(here)
            if action == "release":
                services.release(reviewer=user, request_id=refund.pk)
                messages.success(http, f"Request #{refund.pk} is back in the queue.")
                return HttpResponseRedirect(here)
            if action == "approve":
                services.approve(reviewer=user, request_id=refund.pk)
                messages.success(
                    http,
                    f"Approved request #{refund.pk}: ${refund.lead.price} goes back to "
                    f"{refund.pro.display_name}.",
                )
            elif action in ("deny", "uphold"):
                form = DenialForm(http.POST, prefix=action)
                if not form.is_valid():
                    return self._invalid(http, refund, obj, action, form)
                if action == "deny":
                    services.deny(reviewer=user, request_id=refund.pk, **form.cleaned_data)
                    messages.success(http, f"Denied request #{refund.pk}; the pro will be told.")
                else:
                    services.uphold(agent=user, request_id=refund.pk, **form.cleaned_data)
                    messages.success(http, f"Upheld the denial of request #{refund.pk}.")
            else:
                form = OverturnForm(http.POST, prefix="overturn")
                if not form.is_valid():
                    return self._invalid(http, refund, obj, action, form)
                services.overturn(agent=user, request_id=refund.pk, note=form.cleaned_data["note"])
                messages.success(
                    http, f"Overturned: request #{refund.pk} is approved and will be credited."
                )
        except services.RefundError as error:
            messages.error(http, f"{ACTION_VERBS[action]} refused: {error}")
            return HttpResponseRedirect(here)
        except ConcurrentTransition:
            messages.error(
                http, "Someone changed this request at the same moment. Look at it again."
            )
            return HttpResponseRedirect(here)
        return HttpResponseRedirect(reverse(f"admin:{self.changelist_name}"))

    def _invalid(
        self, http: HttpRequest, refund: RefundRequest, obj: Any, action: str, form: forms.Form
    ) -> TemplateResponse:
        # Checked before the form, so a refused action reads as refused, not as a form error.
        if action not in services.allowed_actions(refund, http.user):
            messages.error(http, f"{ACTION_VERBS[action]} is not open to you on this request.")
        return self.render(
            http, refund, obj=obj, bound={action: form}, open_panel=action, status=400
        )


# The reviewers' queue


class QueueChangeList(ChangeList):
    """The queue loads only the columns its cells show: a row joins six tables, and building
    every field of each (the lead's message text, the pro's whole profile) cost more than the
    query itself."""

    SHOWN = (
        "status",
        "reason",
        "due_at",
        "claimed_until",
        "assessment",
        "lead__customer_name",
        "lead__category__name",
        "pro__email",
        "pro__first_name",
        "pro__last_name",
        "pro__pro_profile__business_name",
        "market__name",
        "claimed_by",
    )

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # Who holds a claim comes in a second, tiny query (only when a shown row is claimed):
        # joining the users table a second time cost the planner more than the query itself.
        claimers = Prefetch("claimed_by", queryset=User.objects.only("email"))
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.only(*self.SHOWN).prefetch_related(claimers)


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin[RefundRequest]):
    list_display = (
        "customer",
        "time_left",
        "state",
        "reason_short",
        "pro_name",
        "lead_age",
        "contact_effort",
        "refund_rate",
    )
    list_display_links = ("customer",)
    list_filter = (
        StateFilter,
        "reason",
        ("market", MarketFilter),
        OverdueFilter,
        ClaimFilter,
    )
    list_select_related = ("lead__category", "pro__pro_profile", "market")
    search_fields = (
        "lead__customer_name",
        "lead__customer_email",
        "lead__customer_phone",
        "lead__marketplace_id",
        "pro__email",
        "pro__pro_profile__business_name",
    )
    search_help_text = "Customer name, phone or email; pro email or business; lead id."
    ordering = ("due_at", "id")
    list_per_page = 50
    show_full_result_count = False
    actions = ("bulk_deny",)

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "queue_stats": services.queue_stats(cached=True),
            "title": "Refund requests to review",
            # The queue needs every column; the breadcrumbs lead everywhere else.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Time left", ordering="due_at")
    def time_left(self, obj: RefundRequest) -> str:
        clock = review_clock(obj, timezone.now())
        if clock is None:
            return html('<span class="rq-muted">{}</span>', "decided")
        return html('<span class="rq-chip rq-chip--{}">{}</span>', clock.level, clock.text)

    @admin.display(description="State", ordering="status")
    def state(self, obj: RefundRequest) -> str:
        # The enums' labels: get_FOO_display() rebuilds the field's choices on every call.
        badge = status_badge(obj.status, Status(obj.status).label)
        if not _live_claim(obj, timezone.now()):
            return badge
        return html(
            '{}<br><span class="rq-claim" title="Claimed until {}">{}</span>',
            badge,
            obj.claimed_until.strftime("%H:%M"),
            obj.claimed_by,
        )

    @admin.display(description="Reason", ordering="reason")
    def reason_short(self, obj: RefundRequest) -> str:
        return html(
            '<span title="{}">{}</span>', Reason(obj.reason).label, REASON_SHORT[obj.reason]
        )

    @admin.display(description="Request", ordering="lead__customer_name")
    def customer(self, obj: RefundRequest) -> str:
        return html(
            '{}<br><span class="rq-muted">#{} · {}</span>',
            obj.lead.customer_name,
            obj.pk,
            obj.lead.category,
        )

    @admin.display(description="Pro · market", ordering="pro__pro_profile__business_name")
    def pro_name(self, obj: RefundRequest) -> str:
        return html(
            '{}<br><span class="rq-muted">{}</span>',
            obj.pro.display_name,
            obj.market or "no market",
        )

    @admin.display(description="Lead age")
    def lead_age(self, obj: RefundRequest) -> str:
        return _hours(obj.assessment.get("lead_age_hours"))

    @admin.display(description="Contact effort")
    def contact_effort(self, obj: RefundRequest) -> str:
        text, level, missing = contact_effort_verdict(obj.assessment)
        return html(
            '<span class="rq-text--{}" title="{}">{}</span>', level, " ".join(missing), text
        )

    @admin.display(description="Rate / limit")
    def refund_rate(self, obj: RefundRequest) -> str:
        peers = obj.assessment.get("peers") or {}
        text, level = refund_rate_verdict(obj.assessment)
        if not peers:
            return "—"
        limit = _percent(peers.get("threshold")) if peers.get("comparable") else "—"
        return html(
            '<span class="rq-text--{}" title="{}">{} / {}</span>',
            level,
            peers.get("why", text),
            _percent(peers.get("pro_rate")),
            limit,
        )

    # The request page

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            refund = _load_request(int(unquote(object_id)))
        except (ValueError, RefundRequest.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, refund):
            raise PermissionDenied
        page = RequestPage(self, "refunds_refundrequest_changelist")
        if request.method == "POST":
            return page.handle_post(request, refund, obj=refund)
        return page.render(request, refund, obj=refund)

    # Bulk deny

    @admin.action(description="Deny selected requests with one explanation", permissions=["decide"])
    def bulk_deny(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        chosen = list(queryset.select_related("lead", "pro__pro_profile"))
        reasons = {r.reason for r in chosen}
        groups = ordered_templates(reasons)
        if "apply" in request.POST:
            form = DenialForm(request.POST)
            if form.is_valid():
                denied, refused = services.bulk_deny(
                    reviewer=request.user,
                    request_ids=[r.pk for r in chosen],
                    **form.cleaned_data,
                )
                if denied:
                    messages.success(
                        request,
                        f"Denied {len(denied)} request{'s' if len(denied) != 1 else ''}: "
                        + ", ".join(f"#{pk}" for pk in denied),
                    )
                for pk, why in refused.items():
                    messages.error(request, f"#{pk} not denied: {why}")
                return None
        else:
            first = _first_template(groups)
            form = DenialForm(
                initial={"explanation": first.explanation, "guidance": first.guidance}
                if first
                else {}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deny {len(chosen)} request{'s' if len(chosen) != 1 else ''}",
            "opts": self.opts,
            "requests": chosen,
            "form": form,
            "template_groups": groups,
            "selected_template": _first_template(groups),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, BULK_DENY_TEMPLATE, context)


# Support's disputes queue


class DisputeStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*DisputeStatus.choices, ("all", "All")]

    def value(self) -> str:
        return super().value() or DisputeStatus.OPEN

    def choices(self, changelist: Any):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "all":
            return queryset
        return queryset.filter(status=value)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin, admin.ModelAdmin[Dispute]):
    list_display = (
        "customer",
        "waiting",
        "pro_name",
        "reason",
        "original_decision",
        "reply",
    )
    list_display_links = ("customer",)
    list_filter = (DisputeStateFilter,)
    list_select_related = ("request__lead__category", "request__pro__pro_profile")
    search_fields = (
        "request__lead__customer_name",
        "request__pro__email",
        "request__pro__pro_profile__business_name",
        "message",
    )
    ordering = ("opened_at", "id")
    show_full_result_count = False

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        mine = Decision.objects.filter(request_id=OuterRef("request_id"), decided_by=request.user)
        return (
            super()
            .get_queryset(request)
            .annotate(decided_by_me=Exists(mine))
            .prefetch_related(
                Prefetch(
                    "request__decisions", queryset=Decision.objects.select_related("decided_by")
                )
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "title": "Disputed decisions",
                "is_nav_sidebar_enabled": False,
            },
        )

    @staticmethod
    def _disputed(obj: Dispute) -> Decision | None:
        before = [d for d in obj.request.decisions.all() if d.decided_at <= obj.opened_at]
        return before[-1] if before else None

    @admin.display(description="Waiting", ordering="opened_at")
    def waiting(self, obj: Dispute) -> str:
        if obj.status != DisputeStatus.OPEN:
            return obj.get_status_display()
        return _duration(timezone.now() - obj.opened_at)

    @admin.display(description="Request", ordering="request__lead__customer_name")
    def customer(self, obj: Dispute) -> str:
        return format_html(
            '{}<br><span class="rq-muted">#{} · {}</span>',
            obj.request.lead.customer_name,
            obj.request_id,
            obj.request.lead.category,
        )

    @admin.display(description="Pro")
    def pro_name(self, obj: Dispute) -> str:
        return obj.request.pro.display_name

    @admin.display(description="Reason")
    def reason(self, obj: Dispute) -> str:
        return format_html(
            '<span title="{}">{}</span>',
            obj.request.get_reason_display(),
            REASON_SHORT[obj.request.reason],
        )

    @admin.display(description="Decision disputed")
    def original_decision(self, obj: Dispute) -> str:
        decision = self._disputed(obj)
        if decision is None:
            return "—"
        who = decision.decided_by or "automatic (refund rate)"
        # Four eyes: the one who decided sees at once that a colleague must take it.
        mine = (
            format_html(' <span class="rq-text--warn">{}</span>', "· you decided it")
            if getattr(obj, "decided_by_me", False)
            else ""
        )
        return format_html(
            '{}{}<br><span class="rq-muted">by {}, {}</span>',
            decision.get_outcome_display(),
            mine,
            who,
            decision.decided_at.strftime("%b %-d"),
        )

    @admin.display(description="Pro's reply")
    def reply(self, obj: Dispute) -> str:
        text = obj.message if len(obj.message) <= 140 else obj.message[:139] + "…"
        return text

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            dispute = Dispute.objects.get(pk=int(unquote(object_id)))
        except (ValueError, Dispute.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        refund = _load_request(dispute.request_id)
        page = RequestPage(self, "refunds_dispute_changelist")
        if request.method == "POST":
            return page.handle_post(request, refund, obj=dispute)
        return page.render(request, refund, obj=dispute)


# Records written by the product only


class StuckCreditFilter(admin.SimpleListFilter):
    """Credits the worker gave up on (refunds.services.stuck_credits): support's to-do list."""

    title = "attempts"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Needs a person (gave up)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(pk__in=services.stuck_credits().values("pk"))
        return queryset


@admin.register(Credit)
class CreditAdmin(ReadOnlyAdmin, admin.ModelAdmin[Credit]):
    """Where support sees a credit that is stuck: its attempts and the gateway's last error."""

    list_display = (
        "request",
        "pro",
        "amount",
        "method",
        "status",
        "attempts",
        "error",
        "gateway_reference",
        "when",
    )
    list_filter = (StuckCreditFilter, "status", "method")
    list_select_related = ("request__lead__category", "request__pro__pro_profile")
    actions = ("retry_payment",)
    search_fields = ("request__pro__email", "request__lead__customer_name", "gateway_reference")
    readonly_fields = (
        "request",
        "amount",
        "method",
        "status",
        "attempts",
        "last_error",
        "gateway_reference",
        "expected_on",
        "ledger_entry",
        "created_at",
        "posted_at",
    )

    @admin.display(description="Pro")
    def pro(self, obj: Credit) -> str:
        return obj.request.pro.display_name

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "title": "Credits",
            # Every column is needed to judge a stuck credit; the breadcrumbs lead elsewhere.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY_CREDIT)

    @admin.action(description="Send to the payment provider again", permissions=["retry"])
    def retry_payment(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = []
        for credit_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                services.retry_credit(agent=request.user, credit_id=credit_id)
            except services.RefundError as refusal:
                messages.error(request, f"Credit #{credit_id} not sent: {refusal}")
            else:
                sent.append(credit_id)
        if sent:
            one = len(sent) == 1
            messages.success(
                request,
                f"Sent {len(sent)} credit{'' if one else 's'} to the payment provider again: "
                + ", ".join(f"#{pk}" for pk in sent)
                + (
                    ". The worker pays it and tells the pro."
                    if one
                    else ". The worker pays them and tells the pros."
                ),
            )

    @admin.display(description="Paid", ordering="posted_at")
    def when(self, obj: Credit) -> str:
        if obj.posted_at is None:
            return "—"
        posted = f"{timezone.localtime(obj.posted_at):%b %-d, %Y}"
        if obj.expected_on:
            return f"{posted}, on the card by {obj.expected_on:%b %-d}"
        return posted

    @admin.display(description="Last error")
    def error(self, obj: Credit) -> str:
        if not obj.last_error:
            return "—"
        text = obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:79] + "…"
        return format_html('<span class="rq-text--late" title="{}">{}</span>', obj.last_error, text)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin, admin.ModelAdmin[Decision]):
    list_display = ("request", "outcome", "kind", "decided_by", "decided_at")
    list_filter = ("outcome", "kind")
    list_select_related = ("request__lead__category", "decided_by")


@admin.register(RefundEvent)
class RefundEventAdmin(ReadOnlyAdmin, admin.ModelAdmin[RefundEvent]):
    list_display = ("created_at", "request", "actor", "action", "from_status", "to_status")
    list_filter = ("action",)
    list_select_related = ("request__lead__category", "actor")


@admin.register(DenialTemplate)
class DenialTemplateAdmin(admin.ModelAdmin[DenialTemplate]):
    """Reviewers keep the denial wording here; the request page offers it, reason first."""

    list_display = ("title", "reason")
    list_filter = ("reason",)
    search_fields = ("title", "explanation", "guidance")
