"""The ingest API under /api/v1/: the marketplace sends leads, messages and contact attempts,
and reads a lead's refund status. Views stay thin; integrations/ingest.py does the work.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Literal

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe
from ninja import Field, NinjaAPI, Path, Schema, Status, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from integrations import ingest
from integrations.choices import Scope
from integrations.models import ApiKey
from leads.models import ContactAttempt, Lead, Message
from refunds import services
from refunds.models import RefundRequest

ERROR_CODES = frozenset({400, 401, 403, 409, 413, 415, 422})

api = NinjaAPI(
    title="Lead refunds — ingest API",
    version="1",
    description=(
        "How the marketplace, its messaging service and telephony send leads, thread messages "
        "and contact attempts to the lead-refunds back-office, and read a lead's refund "
        "status.\n\nEvery call needs an API key (`Authorization: Bearer lrk_…`), created in "
        "the back office and allowed only some operations. PUT is idempotent: the same body "
        "again answers 200 with `result: unchanged`; a new record answers 201."
    ),
    urls_namespace="api-v1",
    # The Swagger page's files are served from this site (ninja is in INSTALLED_APPS); no
    # validator badge either, which would send the document's address to swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    # The documents are read-only: GET and HEAD, anything else 405.
    docs_decorator=require_safe,
)


# Keys and scopes


class KeyAuth(HttpBearer):
    """An active API key allowed `scope`; any other key is refused before the body is read."""

    def __init__(self, scope: Scope):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = ApiKey.find(token)
        if key is None:
            return None
        if not key.allows(self.scope):
            raise HttpError(403, f"This API key is not allowed {self.scope.value}.")
        key.touch()
        return key


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def check_bodies(run):
    """Answer 413 from the declared length, and 415 for a body not sent as JSON, before
    anything reads the body. (A form-encoded body is what a page on another site can make a
    browser send without asking; JSON it cannot.)"""

    @wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > ingest.MAX_BODY_BYTES:
            detail = f"The body is larger than {ingest.MAX_BODY_BYTES} bytes."
            return JsonResponse({"detail": detail, "errors": [], "fields": []}, status=413)
        if request.method in BODY_METHODS and request.content_type != "application/json":
            detail = "Send the body as JSON, with Content-Type: application/json."
            return JsonResponse({"detail": detail, "errors": [], "fields": []}, status=415)
        return run(request, *args, **kwargs)

    return wrapper


api.add_decorator(check_bodies, mode="view")


# Errors: always {"detail": ..., "errors": [{"field", "message"}], "fields": [...]}


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut] = []
    fields: list[str] = []


def _error(request, status: int, detail: str, errors=(), fields=()) -> HttpResponse:
    body = {
        "detail": detail,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
        "fields": list(fields),
    }
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def _invalid_request(request, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        loc = list(item.get("loc", ()))
        # ("body", "payload", "price") → "price"; ("path", "lead_id") → "lead_id"
        place = loc[2:] if loc[:1] == ["body"] else loc[1:]
        message = str(item.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.append(ingest.FieldError(".".join(str(p) for p in place), message))
    return _error(request, 422, "Some fields are invalid; nothing was stored.", errors)


@api.exception_handler(ingest.Invalid)
def _invalid_record(request, exc: ingest.Invalid) -> HttpResponse:
    return _error(request, 422, "Some fields are invalid; nothing was stored.", exc.errors)


@api.exception_handler(ingest.Conflict)
def _conflict(request, exc: ingest.Conflict) -> HttpResponse:
    return _error(request, 409, exc.message, fields=exc.fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc: AuthenticationError) -> HttpResponse:
    response = _error(
        request, 401, "Send a valid API key: Authorization: Bearer <key>. It may have been revoked."
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request, exc: Http404) -> HttpResponse:
    return _error(request, 404, "No lead has this marketplace id.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


# Leads


def _id(example: str):
    return Path(
        ...,
        pattern=ingest.ID_PATTERN,
        description="The sender's id for the record.",
        examples=[example],
    )


Result = Literal["created", "updated", "unchanged"]


class LeadOut(Schema):
    id: str
    result: Result
    changed: list[str]
    pro_id: str
    customer_name: str
    customer_phone: str
    phone_valid: bool | None
    customer_email: str
    email_valid: bool | None
    category: str
    location: str
    request_text: str
    price: Decimal
    payment_method: str
    received_at: datetime
    report_deadline: datetime


@api.put(
    "/leads/{lead_id}",
    auth=KeyAuth(Scope.LEADS_WRITE),
    response={200: LeadOut, 201: LeadOut, ERROR_CODES: ErrorOut},
    summary="Create or update a lead",
    tags=["leads"],
)
def put_lead(request: HttpRequest, payload: ingest.LeadIn, lead_id: str = _id("mp-lead-5001")):
    """Upsert the lead with this marketplace id (needs `leads:write`).

    Refused with 409 when the lead would move to another pro, or when its price, payment
    method or receipt time would change after the pro asked for a refund; nothing is stored.
    """
    stored = ingest.upsert_lead(lead_id, payload)
    lead: Lead = stored.record  # type: ignore[assignment]
    body = {
        "id": lead.marketplace_id,
        "result": stored.result,
        "changed": stored.changed,
        "pro_id": payload.pro_id,
        "customer_name": lead.customer_name,
        "customer_phone": lead.customer_phone,
        "phone_valid": lead.phone_valid,
        "customer_email": lead.customer_email,
        "email_valid": lead.email_valid,
        "category": payload.category,
        "location": lead.location,
        "request_text": lead.request_text,
        "price": lead.price,
        "payment_method": lead.payment_method,
        "received_at": lead.received_at,
        "report_deadline": services.report_deadline(lead),
    }
    return Status(201 if stored.created else 200, body)


# Thread messages and contact attempts


class MessageOut(Schema):
    id: str
    result: Result
    changed: list[str]
    lead_id: str
    sender: str
    body: str
    sent_at: datetime
    answers_question: int | None


@api.put(
    "/messages/{message_id}",
    auth=KeyAuth(Scope.MESSAGES_WRITE),
    response={200: MessageOut, 201: MessageOut, ERROR_CODES: ErrorOut},
    summary="Add a message to a lead's thread",
    tags=["threads"],
)
def put_message(
    request: HttpRequest, payload: ingest.MessageIn, message_id: str = _id("mp-msg-5001-1")
):
    """Store a thread message under its id (needs `messages:write`).

    The thread is append-only: the same message again is `unchanged`; a different body, sender,
    time, lead or `answers_question` for a stored id is refused with 409.

    The customer's reply to a question we asked (the `refund.customer_question` webhook event)
    carries that event's `question_id` as `answers_question`: a question not asked about this
    lead is refused with 422, a second answer to the same question with 409.
    """
    stored = ingest.upsert_message(message_id, payload)
    message: Message = stored.record  # type: ignore[assignment]
    body = {
        "id": message.marketplace_id,
        "result": stored.result,
        "changed": stored.changed,
        "lead_id": payload.lead_id,
        "sender": message.sender,
        "body": message.body,
        "sent_at": message.sent_at,
        "answers_question": payload.answers_question,
    }
    return Status(201 if stored.created else 200, body)


class AttemptOut(Schema):
    id: str
    result: Result
    changed: list[str]
    lead_id: str
    channel: str
    outcome: str
    attempted_at: datetime
    source: str
    note: str


@api.put(
    "/attempts/{attempt_id}",
    auth=KeyAuth(Scope.ATTEMPTS_WRITE),
    response={200: AttemptOut, 201: AttemptOut, ERROR_CODES: ErrorOut},
    summary="Create or update a contact attempt",
    tags=["threads"],
)
def put_attempt(
    request: HttpRequest, payload: ingest.AttemptIn, attempt_id: str = _id("mp-att-5001-1")
):
    """Store a call or message attempt under its id (needs `attempts:write`).

    Once the lead has been reported, a stored attempt can no longer change (409); new attempts
    are still accepted.
    """
    stored = ingest.upsert_attempt(attempt_id, payload)
    attempt: ContactAttempt = stored.record  # type: ignore[assignment]
    body = {
        "id": attempt.marketplace_id,
        "result": stored.result,
        "changed": stored.changed,
        "lead_id": payload.lead_id,
        "channel": attempt.channel,
        "outcome": attempt.outcome,
        "attempted_at": attempt.attempted_at,
        "source": attempt.source,
        "note": attempt.note,
    }
    return Status(201 if stored.created else 200, body)


# Refund status


class CreditOut(Schema):
    amount: Decimal = Field(
        description="What is refunded: the price, or the part of it a reviewer approved, with "
        "support's top-up after a dispute added"
    )
    price: Decimal = Field(description="The lead's price")
    method: str
    status: str
    expected_on: date | None
    posted_at: datetime | None


class RefundOut(Schema):
    status: str
    status_label: str
    reason: str
    reason_label: str
    submitted_at: datetime
    decision: Literal["approved", "denied"] | None
    decided_at: datetime | None
    credit: CreditOut | None


class RefundStatusOut(Schema):
    lead_id: str
    report_deadline: datetime
    reportable: bool
    refund: RefundOut | None


@api.get(
    "/leads/{lead_id}/refund",
    auth=KeyAuth(Scope.STATUS_READ),
    response={200: RefundStatusOut, 404: ErrorOut, ERROR_CODES: ErrorOut},
    summary="Read a lead's refund status",
    tags=["leads"],
)
def get_refund_status(request: HttpRequest, lead_id: str = _id("mp-lead-5001")):
    """Whether the pro asked for a refund of this lead, and where that stands (needs
    `status:read`)."""
    lead = get_object_or_404(Lead, marketplace_id=lead_id)
    request_ = (
        RefundRequest.objects.filter(lead=lead)
        .select_related("credit__top_up", "lead")
        .prefetch_related("decisions")
        .first()
    )
    return {
        "lead_id": lead.marketplace_id,
        "report_deadline": services.report_deadline(lead),
        "reportable": request_ is None and services.reportable(lead),
        "refund": _refund(request_) if request_ is not None else None,
    }


def _refund(request: RefundRequest) -> dict:
    decisions = list(request.decisions.all())
    latest = decisions[-1] if decisions else None
    credit = getattr(request, "credit", None)
    top_up = getattr(credit, "top_up", None) if credit is not None else None
    return {
        "status": request.status,
        "status_label": request.get_status_display(),
        "reason": request.reason,
        "reason_label": request.get_reason_display(),
        "submitted_at": request.submitted_at,
        "decision": latest.outcome if latest is not None else None,
        "decided_at": latest.decided_at if latest is not None else None,
        "credit": {
            "amount": credit.amount + (top_up.amount if top_up is not None else 0),
            "price": request.lead.price,
            "method": credit.method,
            "status": credit.status,
            "expected_on": credit.expected_on,
            "posted_at": credit.posted_at,
        }
        if credit is not None
        else None,
    }
