"""What a record from the marketplace must look like: its field types and the three schemas.

The API reads request bodies through these, and the importer its lines (through
integrations.ingest.parse). Nothing here reads the database: whether the pro, the category or
the lead exists is integrations/ingest.py's business.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

from leads.choices import Channel, Outcome, PaymentMethod, Sender

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Times a little ahead of our clock are the sender's clock drifting, not the future.
CLOCK_SKEW = timedelta(minutes=10)

# Field types


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text and lone surrogates cannot be encoded: refuse them here.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _plausible_time(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("must be in the year 2000 or later")
    if value > timezone.now() + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value.astimezone(UTC)


def _text(max_length: int, min_length: int = 0):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_clean_text),
    ]


MarketplaceId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="The sender's own id: letters, digits and . _ : - (at most 64)."),
]
Time = Annotated[
    AwareDatetime,
    AfterValidator(_plausible_time),
    Field(description="ISO 8601 with a time zone, e.g. 2026-03-02T14:05:00Z."),
]
Price = Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=2, allow_inf_nan=False)]
Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[-a-zA-Z0-9_]{1,50}$")]


class LeadIn(Schema):
    """A lead the marketplace sold to one pro."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "pro_id": "mp-pro-1001",
                    "pro_email": "pro@demo.test",
                    "customer_name": "Dana Whitaker",
                    "customer_phone": "(512) 555-0199",
                    "customer_email": "Dana.Whitaker@example.com",
                    "category": "plumbing",
                    "location": "Austin, TX 78704",
                    "request_text": "The water heater pilot light keeps going out.",
                    "price": "24.50",
                    "payment_method": "balance",
                    "received_at": "2026-01-15T14:05:00Z",
                }
            ]
        },
    )

    pro_id: Annotated[MarketplaceId, Field(description="The pro's id on the marketplace.")]
    pro_email: _text(254) | None = Field(
        default=None,
        description="The pro's login email. Needed only the first time a pro_id is sent: "
        "it links that id to the pro, and the id alone finds the pro afterwards.",
    )
    customer_name: _text(150, min_length=1)
    customer_phone: _text(32) | None = Field(
        default=None,
        description="Any common format; stored as E.164 when it is a valid number in the "
        "pro's market, else as sent and flagged invalid.",
    )
    customer_email: _text(254) | None = Field(
        default=None, description="Stored lower-cased; a malformed address is flagged invalid."
    )
    category: Slug = Field(description="A service category's slug, e.g. plumbing.")
    location: _text(200, min_length=1)
    request_text: _text(5000) = ""
    price: Price = Field(description='What the pro paid, e.g. "24.50".')
    payment_method: PaymentMethod
    received_at: Time = Field(description="When the pro received the lead.")


class MessageIn(Schema):
    """One line of a lead's conversation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lead_id": "mp-lead-5001",
                    "sender": "customer",
                    "body": "Hi, are you available on Thursday morning?",
                    "sent_at": "2026-01-15T14:20:00Z",
                }
            ]
        },
    )

    lead_id: Annotated[MarketplaceId, Field(description="The lead's marketplace id.")]
    sender: Sender
    body: _text(10000, min_length=1)
    sent_at: Time
    answers_question: int | None = Field(
        default=None,
        ge=1,
        description="The customer's reply to a question we asked: the question_id of the "
        "refund.customer_question event, which must be about this lead. A question is "
        "answered once; the sender must be the customer.",
    )


class AttemptIn(Schema):
    """One try by the pro to reach the customer, logged by telephony or the messaging service."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lead_id": "mp-lead-5001",
                    "channel": "phone",
                    "outcome": "no_answer",
                    "attempted_at": "2026-01-15T15:00:00Z",
                    "source": "telephony",
                    "note": "Rang 6 times.",
                }
            ]
        },
    )

    lead_id: Annotated[MarketplaceId, Field(description="The lead's marketplace id.")]
    channel: Channel
    outcome: Outcome
    attempted_at: Time
    source: Literal["telephony", "messaging"]
    note: _text(500) = ""
