"""Records the product writes (credits, decisions, events) and the denial wording reviewers keep."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import ReadOnlyAdmin
from accounts.money import money
from accounts.templatetags.local_time import day
from refunds import permissions, services
from refunds.admin.display import html
from refunds.admin.filters import AfterDecisionFilter, CreditProgressFilter, StuckCreditFilter
from refunds.models import Credit, Decision, DenialTemplate, RefundEvent


@admin.register(Credit)
class CreditAdmin(ReadOnlyAdmin, admin.ModelAdmin[Credit]):
    """Where support sees a credit that is stuck: its attempts and the gateway's last error."""

    list_display = (
        "request",
        "pro",
        "amount_shown",
        "method",
        "status",
        "attempts",
        "error",
        "gateway_reference",
        "when",
    )
    list_filter = (StuckCreditFilter, CreditProgressFilter, AfterDecisionFilter, "status", "method")
    list_select_related = ("request__lead__category", "request__pro__pro_profile")
    actions = ("retry_payment",)
    search_fields = ("request__pro__email", "request__lead__customer_name", "gateway_reference")
    readonly_fields = (
        "request",
        "amount_shown",
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
    fields = readonly_fields  # the amount as money, not the model's bare field beside it

    @admin.display(description="Pro")
    def pro(self, obj: Credit) -> str:
        return obj.request.pro.display_name

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, obj: Credit) -> str:
        return money(obj.amount)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "title": "Credits",
            # Every column is needed to judge a stuck credit; the breadcrumbs lead elsewhere.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.RETRY_CREDIT)

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
        posted = day(obj.posted_at)
        if obj.expected_on:
            return f"{posted}, on the card by {day(obj.expected_on)}"
        return posted

    @admin.display(description="Last error")
    def error(self, obj: Credit) -> str:
        if not obj.last_error:
            return "—"
        text = obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:79] + "…"
        return html('<span class="rq-text--late" title="{}">{}</span>', obj.last_error, text)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin, admin.ModelAdmin[Decision]):
    list_display = ("request", "outcome", "kind", "decided_by", "decided_at")
    # The staff home's "automatic approvals today" opens this list on kind and Today.
    list_filter = ("outcome", "kind", "decided_at")
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
