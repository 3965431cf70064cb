"""The payment gateway that card refunds go through.

A real provider plugs in behind `PaymentGateway` (settings.PAYMENT_GATEWAY names the class).
Every refund carries an idempotency key, so a retried call never refunds twice.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class GatewayError(Exception):
    """The provider failed or timed out; the caller retries with the same key."""


@dataclass(frozen=True)
class GatewayRefund:
    reference: str
    expected_on: date


class PaymentGateway(Protocol):
    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund: ...


class SandboxGateway:
    """Records refunds in the database and settles them after a number of business days."""

    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund:
        from refunds.models import SandboxRefund
        from refunds.policy import Params, add_business_days

        days = Params.from_settings(settings.REFUND_POLICY).card_settlement_business_days
        settles_on = add_business_days(timezone.localdate(), days)
        refund, _ = SandboxRefund.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={"amount": amount, "settles_on": settles_on},
        )
        return GatewayRefund(reference=f"sbx_{refund.pk}", expected_on=refund.settles_on)


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
