"""Spot checks: a random share of automatic approvals, for a reviewer to agree with or not."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.admin import ReadOnlyAdmin
from accounts.money import money
from refunds import permissions, services
from refunds.admin.display import html
from refunds.admin.filters import DefaultChoiceFilter
from refunds.admin.request_page import RequestPage, load_request
from refunds.models import SpotCheck
from refunds.services import MAX_NOTE_LENGTH


class SpotCheckStateFilter(DefaultChoiceFilter):
    title = "state"
    parameter_name = "state"
    default = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("waiting", "Waiting"),
            ("agreed", "Agreed"),
            ("disagreed", "Disagreed"),
            ("all", "All"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return {
            "waiting": queryset.filter(checked_at__isnull=True),
            "agreed": queryset.filter(agreed=True),
            "disagreed": queryset.filter(agreed=False),
        }.get(self.value(), queryset)


class SpotCheckForm(forms.Form):
    note = forms.CharField(
        label="Note (required when you disagree: what did the rule get wrong?)",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(SpotCheck)
class SpotCheckAdmin(ReadOnlyAdmin, admin.ModelAdmin[SpotCheck]):
    list_display = ("request", "rule", "why", "price", "created_at", "verdict")
    list_display_links = ("request",)
    list_filter = (SpotCheckStateFilter,)
    list_select_related = ("decision__request__lead", "checked_by")
    ordering = ("created_at", "id")
    show_full_result_count = False

    class Media:
        css = {"all": ("refunds/review.css",)}
        js = ("refunds/review.js",)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        return super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "title": "Spot checks of automatic approvals",
                "is_nav_sidebar_enabled": False,
            },
        )

    @admin.display(description="Request")
    def request(self, obj: SpotCheck) -> str:
        request = obj.decision.request
        return html("#{} · {}", request.pk, request.lead.customer_name)

    @admin.display(description="Rule")
    def rule(self, obj: SpotCheck) -> str:
        return obj.decision.rule_label

    @admin.display(description="Why it approved")
    def why(self, obj: SpotCheck) -> str:
        return obj.decision.explanation

    @admin.display(description="Credited")
    def price(self, obj: SpotCheck) -> str:
        return money(obj.decision.request.lead.price)

    @admin.display(description="Verdict")
    def verdict(self, obj: SpotCheck) -> str:
        if obj.is_waiting:
            return html('<span class="rq-chip rq-chip--warn">{}</span>', "Waiting")
        word = "Agreed" if obj.agreed else "Disagreed"
        return html(
            '<span class="rq-chip rq-chip--{}">{}</span><br><span class="rq-muted">{}</span>',
            "ok" if obj.agreed else "late",
            word,
            obj.checked_by,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            check = SpotCheck.objects.select_related("decision", "checked_by").get(
                pk=int(unquote(object_id))
            )
        except (ValueError, SpotCheck.DoesNotExist):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, check):
            raise PermissionDenied
        refund = load_request(check.decision.request_id)
        page = RequestPage(self, "refunds_spotcheck_changelist")
        if request.method == "POST":
            return self._check(request, check)
        form = SpotCheckForm()
        can_check = (
            check.is_waiting
            and request.user.has_perm(permissions.DECIDE)
            and refund.pro_id != request.user.pk
        )
        extra = {"spot_check": check, "spot_form": form, "can_check": can_check}
        return page.render(request, refund, obj=check, extra=extra)

    @staticmethod
    def _check(request: HttpRequest, check: SpotCheck) -> HttpResponse:
        """Agree or Disagree; a refusal is said on the page, which is shown again."""
        here = request.get_full_path()
        verdict = request.POST.get("verdict")
        form = SpotCheckForm(request.POST)
        if verdict not in ("agree", "disagree"):
            messages.error(request, "Choose Agree or Disagree.")
            return HttpResponseRedirect(here)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("note", [])))
            return HttpResponseRedirect(here)
        try:
            services.check_automatic_approval(
                reviewer=request.user,
                spot_check_id=check.pk,
                agreed=verdict == "agree",
                note=form.cleaned_data["note"],
            )
        except services.RefundError as error:
            messages.error(request, f"Spot check refused: {error}")
            return HttpResponseRedirect(here)
        messages.success(
            request,
            f"You {verdict}d with the automatic approval of request #{check.decision.request_id}.",
        )
        return HttpResponseRedirect(reverse("admin:refunds_spotcheck_changelist"))
