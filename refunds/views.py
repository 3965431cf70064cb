from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import pro_required
from accounts.models import InboxMessage
from accounts.templatetags.local_time import day, when
from leads.access import get_own_lead
from leads.models import Lead
from refunds import policy, services, standing
from refunds.choices import REASON_HELP, DecisionKind, Reason
from refunds.forms import DisputeForm, ReportForm
from refunds.models import Credit, RefundRequest

INBOX_PER_PAGE = 20
LEDGER_PER_PAGE = 25
REFUNDS_PER_PAGE = 20


def _get_own_request(request: HttpRequest, request_id: int) -> RefundRequest:
    """The signed-in pro's refund request, or 404."""
    queryset = RefundRequest.objects.select_related("lead")
    return get_object_or_404(queryset, pk=request_id, pro=request.user)


def _get_own_inbox_message(request: HttpRequest, message_id: int) -> InboxMessage:
    """A message in the signed-in pro's inbox, with the decision or the reversal it announces,
    or 404."""
    queryset = InboxMessage.objects.select_related(
        "decision__request__lead__category",
        "decision__request__dispute",
        "credit_reversal__credit__request__lead",
        "credit_reversal__credit__request__market",
        "credit_reversal__dispute",
        "reversal_dispute_answer__reversal__credit__request__lead",
    )
    return get_object_or_404(queryset, pk=message_id, recipient=request.user)


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return "no attempts yet"
    if hours < 1:
        return "less than an hour"
    if hours < 48:
        whole = int(hours)
        return f"{whole} hour{'s' if whole != 1 else ''}"
    days = int(hours // 24)
    return f"{days} days"


# Report


def _already_reported(request: HttpRequest, refund_request: RefundRequest) -> HttpResponse:
    messages.info(
        request,
        f"You reported this lead on {day(refund_request.submitted_at)}. "
        f"Its status: {refund_request.get_status_display().lower()}.",
    )
    return redirect("lead_thread", refund_request.lead_id)


def _render_report(request: HttpRequest, lead: Lead, form: ReportForm) -> HttpResponse:
    now = timezone.now()
    p = services.params()
    effort = policy.assess_contact_effort(
        [policy.Attempt(a.channel, a.attempted_at) for a in lead.contact_attempts.all()],
        lead.available_channels,
        now,
        p,
    )
    chosen = form["reason"].value() or ""
    reasons = [
        {
            "value": reason.value,
            "label": reason.label,
            "help": REASON_HELP[reason],
            "effort_matters": policy.contact_effort_matters(reason.value),
            "checked": chosen == reason.value,
        }
        for reason in Reason
    ]
    return render(
        request,
        "refunds/report.html",
        {
            "nav_section": "marketing",
            "lead": lead,
            "form": form,
            "reasons": reasons,
            "reportable": policy.window_open(lead.received_at, now, p),
            "deadline": policy.report_deadline(lead.received_at, p),
            "params": p,
            "effort": effort,
            "effort_matters": policy.contact_effort_matters(chosen),
            "channels_used": [policy.CHANNEL_LABELS[c] for c in effort.channels_used],
            "channels_available": [policy.CHANNEL_LABELS[c] for c in effort.channels_available],
            "since_first": _hours_text(effort.hours_since_first),
            "not_eligible": policy.not_eligible_cases(p),
            "auto_denial_warning": standing.auto_denial_warning(request.user, now),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@pro_required
def report(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_own_lead(request, lead_id)
    existing = getattr(lead, "refund_request", None)
    if existing is not None:
        return _already_reported(request, existing)

    # Bound on every POST, even an empty one, so a missing reason reads as an error.
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            refund_request = services.submit_report(
                pro=request.user,
                lead_id=lead.pk,
                reason=form.cleaned_data["reason"],
                details=form.cleaned_data["details"],
            )
        except services.AlreadyReported as already:
            return _already_reported(request, already.request)
        except services.RefundError as refusal:
            form.add_error(None, str(refusal))
        else:
            decision = refund_request.decisions.last()
            if refund_request.is_open:
                messages.success(request, "Your refund request is in. We will decide within a day.")
            elif decision is not None and decision.is_approval:
                messages.success(
                    request,
                    f"Your refund request was approved automatically. {decision.explanation} "
                    "The credit is on its way; the details are in your Inbox.",
                )
            else:
                messages.warning(
                    request,
                    "Your refund request was denied automatically. The reason is in your Inbox.",
                )
            return redirect("lead_thread", lead.pk)
    return _render_report(request, lead, form)


@require_POST
@login_required
@pro_required
def withdraw_request(request: HttpRequest, request_id: int) -> HttpResponse:
    refund_request = _get_own_request(request, request_id)
    try:
        services.withdraw(pro=request.user, request_id=refund_request.pk)
    except services.RefundError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "You withdrew your refund request.")
    return redirect("lead_thread", refund_request.lead_id)


# Inbox


@require_safe
@login_required
@pro_required
def inbox(request: HttpRequest) -> HttpResponse:
    queryset = InboxMessage.objects.filter(recipient=request.user).select_related(
        "decision__request__lead"
    )
    page = Paginator(queryset, INBOX_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "refunds/inbox.html", {"nav_section": "inbox", "page": page})


def _render_inbox_message(
    request: HttpRequest, message: InboxMessage, form: DisputeForm
) -> HttpResponse:
    decision = getattr(message, "decision", None)
    refund_request = decision.request if decision is not None else None
    dispute = getattr(refund_request, "dispute", None) if refund_request is not None else None
    can_dispute = (
        decision is not None
        and dispute is None
        and decision.kind != DecisionKind.DISPUTE
        and services.disputable(refund_request, decision)
    )
    # A reversal of the credit is disputed from its own message, as a decision is.
    reversal = getattr(message, "credit_reversal", None)
    answer = getattr(message, "reversal_dispute_answer", None)
    if reversal is None and answer is not None:
        refund_request = answer.reversal.credit.request
    reversal_dispute = None
    if reversal is not None:
        refund_request = reversal.credit.request
        reversal_dispute = getattr(reversal, "dispute", None)
        can_dispute = services.reversal_disputable(reversal)
    return render(
        request,
        "refunds/inbox_message.html",
        {
            "nav_section": "inbox",
            "message": message,
            "decision": decision,
            "refund_request": refund_request,
            "dispute": dispute,
            "reversal": reversal,
            "reversal_dispute": reversal_dispute,
            "can_dispute": can_dispute,
            # The peer rule's denial points at the Credits page, where the pro sees their rate.
            "auto_denied": decision is not None and decision.kind == DecisionKind.AUTOMATIC,
            "form": form,
        },
    )


@require_safe
@login_required
@pro_required
def inbox_message(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _get_own_inbox_message(request, message_id)
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=("read_at",))
    return _render_inbox_message(request, message, DisputeForm())


@require_POST
@login_required
@pro_required
def dispute(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _get_own_inbox_message(request, message_id)
    decision = getattr(message, "decision", None)
    reversal = getattr(message, "credit_reversal", None)
    if decision is None and reversal is None:
        raise Http404("This message is not about a decision")
    form = DisputeForm(request.POST)
    if not form.is_valid():
        return _render_inbox_message(request, message, form)
    # The same reply form disputes a decision, or support's reversal of a credit.
    open_it = services.open_dispute if decision is not None else services.open_reversal_dispute
    request_id = decision.request_id if decision is not None else reversal.credit.request_id
    try:
        opened = open_it(
            pro=request.user, request_id=request_id, message=form.cleaned_data["message"]
        )
    except services.RefundError as refusal:
        messages.error(request, str(refusal))
    else:
        due = when(opened.due_at)
        messages.success(
            request,
            f"Thanks — support will look at your request again and answer here by {due}.",
        )
    return redirect("inbox_message", message.pk)


# Credits


@require_safe
@login_required
@pro_required
def credits(request: HttpRequest) -> HttpResponse:
    user = request.user
    refunds = (
        Credit.objects.filter(request__pro=user)
        .select_related("request__lead__category", "top_up")
        .prefetch_related("request__decisions")  # why a partial credit is partial
        # Support took it back (refunds.services.reversals): the row says so.
        .annotate(
            reversed_at=F("reversal__reversed_at"),
            restored_at=F("reversal__dispute__restoration__created_at"),
        )
        .order_by("-created_at", "-id")
    )
    ledger = user.ledger_entries.select_related("credit__request__lead")
    return render(
        request,
        "refunds/credits.html",
        {
            "nav_section": "credits",
            "balance": user.balance(),
            "refunds": Paginator(refunds, REFUNDS_PER_PAGE).get_page(
                request.GET.get("refunds_page")
            ),
            "ledger": Paginator(ledger, LEDGER_PER_PAGE).get_page(request.GET.get("page")),
            "standing": standing.section(user, timezone.now()),
        },
    )
