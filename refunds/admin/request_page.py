"""The request page, shared by the queue and the disputes queue: everything needed to decide on
one page, and the decision bar's actions (refunds.admin.actions) handled through services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransition

from accounts.models import User
from accounts.money import money
from refunds import permissions, services
from refunds.admin import review_path
from refunds.admin.actions import ACTIONS, BY_NAME, Button, ReviewerAction
from refunds.admin.checklist import checklist
from refunds.admin.display import fact_rows, review_clock, rule_view
from refunds.admin.forms import first_template, ordered_templates
from refunds.choices import OPEN_STATUSES, DisputeStatus, Status
from refunds.models import CreditReversal, Decision, RefundEvent, RefundRequest, ReversalDispute

REVIEW_TEMPLATE = "admin/refunds/refundrequest/review.html"
QUEUE = "refunds_refundrequest_changelist"
ASK = "ask_customer"  # the POST's `transition` for Ask the customer (not a state change)
SAME_CUSTOMER_SIZE = 20


def load_request(pk: int) -> RefundRequest:
    return (
        RefundRequest.objects.select_related(
            "lead__category",
            "pro__pro_profile__market",
            "market",
            "claimed_by",
            "credit",
            "dispute",
            "customer_question__answer",
        )
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("decided_by")),
            Prefetch("events", queryset=RefundEvent.objects.select_related("actor")),
        )
        .get(pk=pk)
    )


def _timeline(request: RefundRequest) -> list[dict]:
    """The lead's messages and contact attempts in the order they happened, the report and the
    credit marked; what came after the credit is flagged `after_credit` (highlighted)."""
    lead = request.lead
    items = [{"kind": "message", "at": m.sent_at, "obj": m} for m in lead.messages.all()]
    items += [
        {"kind": "attempt", "at": a.attempted_at, "obj": a} for a in lead.contact_attempts.all()
    ]
    items.append({"kind": "report", "at": request.submitted_at, "obj": request})
    credit = getattr(request, "credit", None)
    posted_at = credit.posted_at if credit is not None else None
    for item in items:
        item["after_credit"] = posted_at is not None and item["at"] > posted_at
    if posted_at is not None:
        items.append({"kind": "credit", "at": posted_at, "obj": credit, "after_credit": False})
    items.sort(key=lambda item: item["at"])
    return items


def _reversal(request: RefundRequest) -> CreditReversal | None:
    credit = getattr(request, "credit", None)
    if credit is None or request.status != Status.CREDITED:
        return None
    return (
        CreditReversal.objects.filter(credit=credit)
        .select_related(
            "reversed_by", "ledger_entry", "dispute__resolved_by", "dispute__restoration"
        )
        .first()
    )


def _no_action_reason(request: RefundRequest, user: User, now: datetime) -> str:
    """Why the bar has no buttons, so nobody wonders whether the page is broken."""
    if request.pro_id == user.pk:
        return "This is your own refund request: another member of staff must handle it."
    if request.claimed_by_other(user, now):
        return f"{request.claimed_by} is reviewing this request."
    if request.status in OPEN_STATUSES and not user.has_perm(permissions.DECIDE):
        return "Reviewers decide open requests."
    if request.status == Status.REVIEWED:
        return "Decided; the worker is sending the credit or the notice."
    if request.status == Status.DISPUTED:
        if not user.has_perm(permissions.RESOLVE_DISPUTE):
            return "Support resolves disputes."
        return "You decided this request, so another member of support must resolve the dispute."
    reversal_dispute = ReversalDispute.objects.filter(
        reversal__credit__request=request, status=DisputeStatus.OPEN
    ).first()
    if request.status == Status.CREDITED and reversal_dispute is not None:
        if not user.has_perm(permissions.RESOLVE_DISPUTE):
            return "Support answers the pro's dispute of the reversal."
        return (
            "You reversed this credit or decided this request, so another member of support "
            "must answer the pro's dispute of the reversal."
        )
    if request.status in (Status.CREDITED, Status.DENIED, Status.WITHDRAWN):
        return f"This request is {Status(request.status).label.lower()}; nothing left to decide."
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
        extra: dict | None = None,
    ) -> TemplateResponse:
        now = timezone.now()
        user = http.user
        allowed = services.allowed_actions(refund, user, now)
        shown = [action for action in ACTIONS if action.name in allowed]
        decisions = list(refund.decisions.all())
        for decision in decisions:
            decision.fact_rows = fact_rows(decision.facts)
        offers_templates = any(action.offers_templates for action in shown)
        template_groups = ordered_templates({refund.reason}) if offers_templates else []
        first = first_template(template_groups)
        initial = {"explanation": first.explanation, "guidance": first.guidance} if first else {}
        bar = [
            self._button(action, refund, (bound or {}).get(action.name), initial)
            for action in shown
        ]
        dispute = getattr(refund, "dispute", None)
        disputed_decision = None
        if dispute is not None:
            before = [d for d in decisions if d.decided_at <= dispute.opened_at]
            disputed_decision = before[-1] if before else None
        timeline = _timeline(refund)
        reversal = _reversal(refund)
        model_admin = self.model_admin
        filters = review_path.queue_filters(http)
        changelist_url = reverse(f"admin:{self.changelist_name}")
        if filters:
            changelist_url = f"{changelist_url}?{filters}"
        previous = following = None
        undo_offer = None
        if self.is_queue:
            previous, following = review_path.neighbours(model_admin, http, filters, refund.pk)
            undo_offer = review_path.undo_offer(http, now)
            if undo_offer and undo_offer["id"] == refund.pk:
                undo_offer = None  # this page's own bar has the Undo button
        question = getattr(refund, "customer_question", None)
        can_ask = question is None and services.can_ask(refund, user, now)
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
            "report_deadline": services.report_deadline(refund.lead),
            "profile": getattr(refund.pro, "pro_profile", None),
            "clock": review_clock(refund, now),
            "live_claim": refund.has_live_claim(now),
            "bar": bar,
            "no_action_reason": "" if bar else _no_action_reason(refund, user, now),
            "open_panel": open_panel,
            "template_groups": template_groups,
            "selected_template": first,
            "timeline": timeline,
            "message_count": sum(1 for item in timeline if item["kind"] == "message"),
            "attempt_count": sum(1 for item in timeline if item["kind"] == "attempt"),
            "question": question,
            "ask": {"text": services.question_text(refund), "transition": ASK} if can_ask else None,
            "after_credit_count": sum(1 for item in timeline if item["after_credit"]),
            "resumed": refund.status == Status.CREDITED
            and user.has_perm(permissions.RESOLVE_DISPUTE)
            and services.conversation_resumed(refund, now),
            "checklist": checklist(refund),
            "decisions": decisions,
            "rule": rule_view(refund.assessed.rule if refund.assessed else None),
            **(extra or {}),
            "credit": getattr(refund, "credit", None),
            "reversal": reversal,
            "reversal_dispute": getattr(reversal, "dispute", None),
            "dispute": dispute,
            "disputed_decision": disputed_decision,
            "events": list(refund.events.all()),
            "history": services.pro_history(refund, now),
            "same_customer": list(
                services.same_customer(refund.lead)
                .select_related("pro__pro_profile", "category", "refund_request")
                .order_by("-received_at")[:SAME_CUSTOMER_SIZE]
            ),
            "duplicate_ids": set(refund.assessed.duplicate_lead_ids if refund.assessed else ()),
            "changelist_url": changelist_url,
            "filters": filters,
            "previous_url": review_path.request_url(previous, filters) if previous else "",
            "next_url": review_path.request_url(following, filters) if following else "",
            "undo_offer": undo_offer,
            "shortcuts": [(a.key, a.verb) for a in shown if a.key],
            "media": model_admin.media,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(http, REVIEW_TEMPLATE, context, status=status)

    @staticmethod
    def _button(
        action: ReviewerAction, refund: RefundRequest, bound: forms.Form | None, initial: dict
    ) -> Button:
        form = None
        if action.form is not None:
            form = bound or action.form(
                prefix=action.name, initial=initial if action.offers_templates else None
            )
        price = money(refund.lead.price, refund.market.currency)
        return Button(
            action=action,
            label=action.label.format(price=price),
            confirm=action.confirm.format(price=price),
            form=form,
        )

    def handle_post(self, http: HttpRequest, refund: RefundRequest, *, obj: Any) -> HttpResponse:
        here = http.get_full_path()
        if http.POST.get("transition") == ASK:
            return self._ask(http, refund, here)
        action = BY_NAME.get(http.POST.get("transition", ""))
        if action is None:
            messages.error(http, "That is not an action this page knows.")
            return HttpResponseRedirect(here)
        data: dict[str, Any] = {}
        if action.form is not None:
            form = action.form(http.POST, prefix=action.name)
            if not form.is_valid():
                return self._invalid(http, refund, obj, action, form)
            data = form.cleaned_data
        try:
            result = action.run(http.user, refund.pk, data)
        except services.AmountRefused as error:
            # An amount the policy refuses: the panel again, with what was typed and why.
            form.add_error(None, str(error))
            return self._invalid(http, refund, obj, action, form)
        except services.RefundError as error:
            messages.error(http, f"{action.verb} refused: {error}")
            return HttpResponseRedirect(here)
        except ConcurrentTransition:
            messages.error(
                http, "Someone changed this request at the same moment. Look at it again."
            )
            return HttpResponseRedirect(here)
        amount = result.amount if isinstance(result, Decision) else None
        done = action.done.format(
            pk=refund.pk,
            price=money(refund.lead.price, refund.market.currency),
            amount=money(amount or refund.lead.price, refund.market.currency),
            pro=refund.pro.display_name,
        )
        filters = review_path.queue_filters(http)
        if action.name == "undo":
            review_path.forget_undo(http, refund.pk)
        if action.stays:
            messages.success(http, done)
            return HttpResponseRedirect(here)
        if action.advances and self.is_queue:
            return self._next(http, refund, action, done, filters)
        messages.success(http, done)
        changelist = reverse(f"admin:{self.changelist_name}")
        return HttpResponseRedirect(f"{changelist}?{filters}" if filters else changelist)

    @staticmethod
    def _ask(http: HttpRequest, refund: RefundRequest, here: str) -> HttpResponse:
        """Ask the customer: no decision, so the page again, with the question on top."""
        try:
            services.ask_customer(reviewer=http.user, request_id=refund.pk)
        except services.RefundError as error:
            messages.error(http, f"Ask the customer refused: {error}")
        else:
            messages.success(
                http,
                "The marketplace sends the customer the question. The request is still due "
                "when it was: decide it on what is there if no answer comes.",
            )
        return HttpResponseRedirect(here)

    @property
    def is_queue(self) -> bool:
        return self.changelist_name == QUEUE

    def _next(
        self,
        http: HttpRequest,
        refund: RefundRequest,
        action: ReviewerAction,
        done: str,
        filters: str,
    ) -> HttpResponse:
        """After a decision: the next request of the queue as filtered, claimed; or the queue."""
        review_path.remember_for_undo(http, refund, action.verb)
        following = review_path.start_next(self.model_admin, http, filters)
        if following is None:
            messages.success(http, f"{done} The queue is empty: nothing left to review here.")
            return HttpResponseRedirect(review_path.queue_url(filters))
        messages.success(http, f"{done} Next: request #{following.pk}.")
        return HttpResponseRedirect(review_path.request_url(following.pk, filters))

    def _invalid(
        self,
        http: HttpRequest,
        refund: RefundRequest,
        obj: Any,
        action: ReviewerAction,
        form: forms.Form,
    ) -> TemplateResponse:
        # Checked before the form, so a refused action reads as refused, not as a form error.
        if action.name not in services.allowed_actions(refund, http.user):
            messages.error(http, f"{action.verb} is not open to you on this request.")
        return self.render(
            http, refund, obj=obj, bound={action.name: form}, open_panel=action.name, status=400
        )
