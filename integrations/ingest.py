"""The way in for leads, thread messages and contact attempts sent by the marketplace.

The JSON API (integrations/api.py) and the importer (`manage.py import_leads`) both go through
the schemas of integrations/schemas.py (importable from here too) and the functions here, so a
record is checked, normalised and stored the same way whichever road it took. Every upsert is
idempotent: the same data sent twice changes nothing the second time, and a refusal stores
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, transaction
from ninja import Schema
from pydantic import ValidationError as PydanticValidationError

from accounts.models import ServiceCategory, User
from integrations.models import ProLink
from integrations.schemas import ID_PATTERN, AttemptIn, LeadIn, MessageIn
from leads.choices import Channel, Sender
from leads.contact import normalise_email, normalise_phone
from leads.models import ContactAttempt, Lead, Message
from refunds import services
from refunds.models import CustomerQuestion, RefundRequest

# The largest request body (or importer line) accepted; a lead is a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024

# Once a lead is reported, what it cost, how it was paid and when it arrived decide the refund.
FROZEN_ONCE_REPORTED = ("price", "received_at", "payment_method")

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

# Where a stored field's name differs from the API's.
_API_NAMES = {"category_id": "category"}


# Results and refusals


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class IngestError(Exception):
    """A record refused; nothing of it was stored."""


class Invalid(IngestError):
    """Fields that are malformed or name something we do not know (answered 422)."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class Conflict(IngestError):
    """A well-formed change the rules refuse, such as repricing a reported lead (answered 409)."""

    def __init__(self, message: str, fields: list[str]):
        super().__init__(message)
        self.message = message
        self.fields = fields


@dataclass
class Stored:
    record: Lead | Message | ContactAttempt
    result: str
    changed: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.result == CREATED


def field_errors(error: PydanticValidationError) -> list[FieldError]:
    """Every problem pydantic found, named by field (dotted for nested places)."""
    found = []
    for item in error.errors():
        place = ".".join(str(part) for part in item["loc"])
        found.append(FieldError(place, item["msg"].removeprefix("Value error, ")))
    return found


SchemaT = TypeVar("SchemaT", LeadIn, MessageIn, AttemptIn)


def parse(schema: type[SchemaT], data: object) -> SchemaT:
    """Validate plain data (an importer line) exactly as the API validates a body."""
    try:
        return schema.model_validate(data)
    except PydanticValidationError as error:
        raise Invalid(field_errors(error)) from None


# Upserts

T = TypeVar("T")


def _once_more_on_race(store: Callable[[], T]) -> T:
    try:
        with transaction.atomic():
            return store()
    except IntegrityError:
        # A concurrent call with the same id stored it first; now this one is an update.
        with transaction.atomic():
            return store()


def _resolve_pro(data: LeadIn, errors: list[FieldError]) -> tuple[User | None, bool]:
    """The pro a marketplace pro id means, and whether the link is new (to be stored)."""
    link = (
        ProLink.objects.select_related("pro__pro_profile__market")
        .filter(marketplace_pro_id=data.pro_id)
        .first()
    )
    if link is not None:
        if not hasattr(link.pro, "pro_profile"):
            errors.append(FieldError("pro_id", "This pro has no pro profile."))
            return None, False
        return link.pro, False
    if not data.pro_email:
        errors.append(
            FieldError(
                "pro_id",
                "No pro is linked to this marketplace pro id: send pro_email once to link it, "
                "or link it in the admin.",
            )
        )
        return None, False
    pro = (
        User.objects.select_related("pro_profile__market")
        .filter(email__iexact=data.pro_email, pro_profile__isnull=False)
        .first()
    )
    if pro is None:
        errors.append(FieldError("pro_email", "No pro signs in with this email address."))
        return None, False
    if ProLink.objects.filter(pro=pro).exists():
        errors.append(
            FieldError("pro_email", "This pro is already linked to another marketplace pro id.")
        )
        return None, False
    return pro, True


def upsert_lead(marketplace_id: str, data: LeadIn) -> Stored:
    """Create or update the lead with this marketplace id.

    Raises Invalid for an unknown pro or category, and Conflict for a move to another pro or
    for a change of price, payment method or receipt time once the lead has been reported.
    """
    return _once_more_on_race(lambda: _upsert_lead(marketplace_id, data))


def _upsert_lead(marketplace_id: str, data: LeadIn) -> Stored:
    # The lock serialises this with a pro reporting the same lead (refunds.services).
    lead = Lead.objects.select_for_update().filter(marketplace_id=marketplace_id).first()
    errors: list[FieldError] = []
    pro, new_link = _resolve_pro(data, errors)
    category = ServiceCategory.objects.filter(slug=data.category).first()
    if category is None:
        errors.append(
            FieldError("category", f"No service category has the slug {data.category!r}.")
        )
    if errors or pro is None or category is None:
        raise Invalid(errors)

    phone, phone_valid = normalise_phone(
        data.customer_phone or "", pro.pro_profile.market.country_code
    )
    email, email_valid = normalise_email(data.customer_email or "")
    values = {
        "customer_name": data.customer_name,
        "customer_phone": phone,
        "phone_valid": phone_valid,
        "customer_email": email,
        "email_valid": email_valid,
        "category_id": category.pk,
        "location": data.location,
        "request_text": data.request_text,
        "price": data.price,
        "payment_method": data.payment_method.value,
        "received_at": data.received_at,
    }
    if lead is not None and lead.pro_id != pro.pk:
        raise Conflict("This lead was sold to another pro; a lead never changes pro.", ["pro_id"])
    if new_link:
        ProLink.objects.create(pro=pro, marketplace_pro_id=data.pro_id)
    if lead is None:
        lead = Lead.objects.create(marketplace_id=marketplace_id, pro=pro, **values)
        return Stored(lead, CREATED)

    changed = [name for name, value in values.items() if getattr(lead, name) != value]
    if not changed:
        return Stored(lead, UNCHANGED)
    frozen = [name for name in changed if name in FROZEN_ONCE_REPORTED]
    if frozen and RefundRequest.objects.filter(lead=lead).exists():
        raise Conflict(
            "The pro has asked for a refund of this lead, so its "
            f"{', '.join(frozen)} can no longer change.",
            frozen,
        )
    for name in changed:
        setattr(lead, name, values[name])
    lead.save(update_fields=changed)
    return Stored(lead, UPDATED, [_API_NAMES.get(name, name) for name in changed])


def _lock_lead(marketplace_id: str) -> Lead:
    lead = Lead.objects.select_for_update().filter(marketplace_id=marketplace_id).first()
    if lead is None:
        raise Invalid(
            [FieldError("lead_id", "No lead has this marketplace id; send the lead first.")]
        )
    return lead


def _not_before_receipt(at: datetime, lead: Lead, name: str) -> list[FieldError]:
    if at < lead.received_at:
        return [FieldError(name, "must not be before the lead was received")]
    return []


def upsert_message(marketplace_id: str, data: MessageIn) -> Stored:
    """Add a message to a lead's thread; sending it again changes nothing.

    The thread is kept exactly as it was written, so a different body for a stored message is
    refused (Conflict) rather than applied.
    """
    return _once_more_on_race(lambda: _upsert_message(marketplace_id, data))


def _upsert_message(marketplace_id: str, data: MessageIn) -> Stored:
    lead = _lock_lead(data.lead_id)
    errors = _not_before_receipt(data.sent_at, lead, "sent_at")
    question = _question_answered(data, lead, errors)
    if errors:
        raise Invalid(errors)
    values = {
        "lead_id": lead.pk,
        "sender": data.sender.value,
        "body": data.body,
        "sent_at": data.sent_at,
    }
    message = (
        Message.objects.select_related("answered_question")
        .filter(marketplace_id=marketplace_id)
        .first()
    )
    answered_elsewhere = question is not None and question.answer_id is not None
    if answered_elsewhere and (message is None or question.answer_id != message.pk):
        raise Conflict(
            f"Question {question.pk} already has its answer (message "
            f"{question.answer.marketplace_id}): a question is answered once.",
            ["answers_question"],
        )
    if message is None:
        message = Message.objects.create(marketplace_id=marketplace_id, **values)
        if question is not None:
            services.record_answer(question, message)
        return Stored(message, CREATED)
    changed = [name for name, value in values.items() if getattr(message, name) != value]
    answered = getattr(message, "answered_question", None)
    if (answered.pk if answered else None) != data.answers_question:
        changed.append("answers_question")
    if not changed:
        return Stored(message, UNCHANGED)
    raise Conflict(
        "A message is never changed once stored: the thread is kept exactly as it was written.",
        changed,
    )


def _question_answered(
    data: MessageIn, lead: Lead, errors: list[FieldError]
) -> CustomerQuestion | None:
    """The question a customer's message answers (answers_question), asked about its lead."""
    if data.answers_question is None:
        return None
    question = (
        CustomerQuestion.objects.select_related("request", "answer")
        .filter(pk=data.answers_question, request__lead=lead)
        .first()
    )
    if question is None:
        errors.append(
            FieldError(
                "answers_question",
                f"No question {data.answers_question} was asked about lead {data.lead_id}: "
                "send the question_id of its refund.customer_question event.",
            )
        )
    if data.sender != Sender.CUSTOMER:
        errors.append(
            FieldError("answers_question", "Only a customer's message answers a question.")
        )
    return question


def upsert_attempt(marketplace_id: str, data: AttemptIn) -> Stored:
    """Create or update a contact attempt.

    Once the lead has been reported, its contact history is what the reviewer judges: a stored
    attempt can then no longer change (Conflict), though new ones may still arrive.
    """
    return _once_more_on_race(lambda: _upsert_attempt(marketplace_id, data))


_SOURCE_CHANNEL = {"telephony": Channel.PHONE, "messaging": Channel.MESSAGE}


def _upsert_attempt(marketplace_id: str, data: AttemptIn) -> Stored:
    lead = _lock_lead(data.lead_id)
    errors = _not_before_receipt(data.attempted_at, lead, "attempted_at")
    if data.channel != _SOURCE_CHANNEL[data.source]:
        errors.append(
            FieldError(
                "channel",
                f"{data.source} logs {_SOURCE_CHANNEL[data.source].label.lower()}s only",
            )
        )
    if errors:
        raise Invalid(errors)
    values = {
        "lead_id": lead.pk,
        "channel": data.channel.value,
        "outcome": data.outcome.value,
        "attempted_at": data.attempted_at,
        "source": data.source,
        "note": data.note,
    }
    attempt = ContactAttempt.objects.filter(marketplace_id=marketplace_id).first()
    if attempt is None:
        attempt = ContactAttempt.objects.create(marketplace_id=marketplace_id, **values)
        return Stored(attempt, CREATED)
    changed = [name for name, value in values.items() if getattr(attempt, name) != value]
    if not changed:
        return Stored(attempt, UNCHANGED)
    if "lead_id" in changed:
        raise Conflict("A contact attempt never moves to another lead.", ["lead_id"])
    if RefundRequest.objects.filter(lead_id=attempt.lead_id).exists():
        raise Conflict(
            "The pro has asked for a refund of this lead, so its contact history can no longer "
            "change; send a new attempt instead.",
            changed,
        )
    for name in changed:
        setattr(attempt, name, values[name])
    attempt.save(update_fields=changed)
    return Stored(attempt, UPDATED, changed)


# One record of the importer's file: {"type": "lead", "id": "L-1", ...the API's fields}

KINDS: dict[str, tuple[type[Schema], Callable[[str, Schema], Stored]]] = {
    "lead": (LeadIn, upsert_lead),  # type: ignore[dict-item]
    "message": (MessageIn, upsert_message),  # type: ignore[dict-item]
    "attempt": (AttemptIn, upsert_attempt),  # type: ignore[dict-item]
}


def ingest_record(data: object) -> Stored:
    """Validate and store one typed record, through the same schema and upsert as the API."""
    if not isinstance(data, dict):
        raise Invalid([FieldError("", "each line must be a JSON object")])
    fields = dict(data)
    kind = fields.pop("type", None)
    record_id = fields.pop("id", None)
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("type", f"must be one of {', '.join(KINDS)}"))
    if not isinstance(record_id, str) or not re.fullmatch(ID_PATTERN, record_id):
        errors.append(
            FieldError("id", "must be letters, digits and . _ : - (at most 64 characters)")
        )
    record = None
    if kind in KINDS:
        schema, _ = KINDS[kind]
        try:
            record = parse(schema, fields)
        except Invalid as error:
            errors.extend(error.errors)
    if errors or record is None:
        raise Invalid(errors)
    _, upsert = KINDS[kind]
    return upsert(record_id, record)  # type: ignore[arg-type]
