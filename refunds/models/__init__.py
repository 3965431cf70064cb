"""The refunds app's models, one module per concern; import them from here."""

from refunds.models.questions import CustomerQuestion
from refunds.models.records import (
    Credit,
    CreditReversal,
    CreditTopUp,
    Decision,
    DecisionTally,
    Dispute,
    ImmutableError,
    RefundEvent,
    ReversalDispute,
    SpotCheck,
)
from refunds.models.reference import DenialTemplate, MarketPeerStats, SandboxRefund
from refunds.models.request import RefundRequest, RefundRequestQuerySet
from refunds.models.rollups import DecisionTimeRollup, PromiseRollup, RollupDay
from refunds.models.worker import WorkerHeartbeat

__all__ = [
    "Credit",
    "CreditReversal",
    "CreditTopUp",
    "CustomerQuestion",
    "Decision",
    "DecisionTally",
    "DecisionTimeRollup",
    "DenialTemplate",
    "Dispute",
    "ImmutableError",
    "MarketPeerStats",
    "PromiseRollup",
    "RefundEvent",
    "RefundRequest",
    "RefundRequestQuerySet",
    "ReversalDispute",
    "RollupDay",
    "SandboxRefund",
    "SpotCheck",
    "WorkerHeartbeat",
]
