"""Automatic approval of clear-cut requests: named rules over plain facts, and their guards.

Each rule says whether a report is clear-cut for its reason, with the facts it used and a
sentence a pro and a reviewer can read. `automatic_approval` applies the guards (the peer
refund-rate rule wins, a price cap, a cap per pro) and the rule's mode from settings: on
(applied), suggest (shown to the reviewer, nothing applied) or off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from refunds.choices import Reason

if TYPE_CHECKING:
    from refunds.policy import Params

ON = "on"
SUGGEST = "suggest"
OFF = "off"
MODES = (ON, SUGGEST, OFF)

DUPLICATE = "duplicate"
OUTSIDE_SERVICES = "outside_services"
UNREACHABLE_CONTACT = "unreachable_contact"
RULE_LABELS = {
    DUPLICATE: "Duplicate lead",
    OUTSIDE_SERVICES: "Outside the pro's services",
    UNREACHABLE_CONTACT: "Unreachable contact",
}
# What ended a phone attempt when the number itself is bad.
DEAD_NUMBER = frozenset({"wrong_number", "disconnected"})


@dataclass(frozen=True)
class ReportFacts:
    """What the rules look at, read from the database by the service."""

    reason: str
    price: Decimal
    # Earlier leads of the same customer (phone or email) sold to this pro within the duplicate
    # window, not themselves refunded.
    earlier_duplicates: tuple[int, ...] = ()
    category: str = ""
    category_offered: bool = True
    phone_given: bool = False
    phone_valid: bool | None = None
    email_given: bool = False
    email_valid: bool | None = None
    phone_outcomes: tuple[str, ...] = ()  # every phone attempt's outcome
    customer_wrote: bool = False  # any message from the customer in the thread
    customer_wrote_after_first_contact: bool = False
    auto_denied: bool = False  # the peer refund-rate rule's verdict
    auto_approvals_30d: int = 0  # this pro's automatic approvals in the last 30 days


@dataclass
class RuleVerdict:
    """A rule's verdict on one report: stored with the request, and with the decision it makes."""

    rule: str
    mode: str  # on / suggest
    applies: bool  # the rule's conditions hold and no guard holds it back
    why: str
    facts: dict = field(default_factory=dict)
    held_by: str = ""  # the guard that keeps a person on it, when the rule matched

    @property
    def label(self) -> str:
        return RULE_LABELS[self.rule]

    @property
    def applied(self) -> bool:
        """Approved with no person: the rule matched, nothing held it, and it is switched on."""
        return self.applies and self.mode == ON

    @property
    def suggested(self) -> bool:
        return self.applies and self.mode == SUGGEST

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> RuleVerdict | None:
        return cls(**data) if data else None


def duplicate_rule(facts: ReportFacts, params: Params) -> tuple[bool, str, dict]:
    """Duplicate lead: the pro already bought this customer within the window, unrefunded."""
    used = {"earlier_leads": list(facts.earlier_duplicates)}
    if facts.reason != Reason.DUPLICATE:
        return False, "", used
    if not facts.earlier_duplicates:
        return False, "No earlier lead from this customer for this pro.", used
    first = facts.earlier_duplicates[0]
    return (
        True,
        f"You were sold lead #{first} from the same customer (same phone or email) within "
        f"{params.duplicate_window_days} days, and it was not refunded.",
        used,
    )


def outside_services_rule(facts: ReportFacts, params: Params) -> tuple[bool, str, dict]:
    """Wrong job type: the lead's category is not one the pro offers."""
    used = {"category": facts.category, "category_offered": facts.category_offered}
    if facts.reason != Reason.WRONG_JOB:
        return False, "", used
    if facts.category_offered:
        return False, f"{facts.category} is one of the pro's services.", used
    return True, f"{facts.category} is not one of the services on your profile.", used


def unreachable_contact_rule(facts: ReportFacts, params: Params) -> tuple[bool, str, dict]:
    """Invalid contact: no phone or email works and the customer never wrote."""
    used = {
        "phone_valid": facts.phone_valid,
        "phone_outcomes": list(facts.phone_outcomes),
        "email_given": facts.email_given,
        "email_valid": facts.email_valid,
        "customer_wrote": facts.customer_wrote,
    }
    if facts.reason != Reason.INVALID_CONTACT:
        return False, "", used
    phone_dead = facts.phone_valid is False or (
        bool(facts.phone_outcomes) and all(o in DEAD_NUMBER for o in facts.phone_outcomes)
    )
    email_dead = not facts.email_given or facts.email_valid is False
    if not phone_dead:
        return False, "The phone number may work.", used
    if not email_dead:
        return False, "The email address may work.", used
    if facts.customer_wrote:
        return False, "The customer wrote in the thread.", used
    phone = (
        "the phone number is not valid"
        if facts.phone_valid is False
        else "every call ended as a wrong or disconnected number"
    )
    email = "there is no email address" if not facts.email_given else "the email is not valid"
    return True, f"The customer could not be reached: {phone}, {email}, and they never wrote.", used


RULES = (
    (DUPLICATE, duplicate_rule),
    (OUTSIDE_SERVICES, outside_services_rule),
    (UNREACHABLE_CONTACT, unreachable_contact_rule),
)


def automatic_approval(facts: ReportFacts, params: Params) -> RuleVerdict | None:
    """The verdict of the rule for this report's reason, guarded; None when no rule speaks.

    Guards, in order: the peer refund-rate denial wins; a customer who wrote after the pro's
    first contact was reachable; the price cap; the cap on a pro's automatic approvals.
    """
    if facts.auto_denied:
        return None
    for name, rule in RULES:
        mode = params.auto_approve_modes.get(name, OFF)
        if mode == OFF:
            continue
        matched, why, used = rule(facts, params)
        if not why:
            continue  # the rule is for another reason
        used = {**used, "price": str(facts.price), "auto_approvals_30d": facts.auto_approvals_30d}
        verdict = RuleVerdict(rule=name, mode=mode, applies=matched, why=why, facts=used)
        if matched:
            verdict.held_by = _guard(name, facts, params)
            verdict.applies = not verdict.held_by
        return verdict
    return None


def _guard(rule: str, facts: ReportFacts, params: Params) -> str:
    if rule == UNREACHABLE_CONTACT and facts.customer_wrote_after_first_contact:
        return "The customer wrote after the pro's first contact."
    if facts.price > params.auto_approve_max_price:
        return f"The price is above ${params.auto_approve_max_price}, so a person decides."
    if facts.auto_approvals_30d >= params.auto_approve_per_pro_30d:
        return (
            f"This pro already had {facts.auto_approvals_30d} automatic approvals in 30 days, "
            "so a person decides."
        )
    return ""
