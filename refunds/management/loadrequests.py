"""The refund requests of a generated marketplace: each a story the state machine can tell.

generate_load builds leads and threads; for a reported lead, Requests writes the request in a
state the machine reaches, with its assessment made by policy.assess from the lead's facts, and
the decisions, credit, ledger entry, dispute, notices and event log that state has. Every date
lies between the lead's arrival and the data set's now, in the order the steps happen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from accounts.models import InboxMessage, LedgerEntry
from leads.models import ContactAttempt, Lead, Message
from refunds import notices, policy
from refunds.choices import DecisionKind, Reason, Status
from refunds.management.bulkload import Writer
from refunds.models import Credit, Decision, Dispute, RefundEvent, RefundRequest

OPEN_STATES = [Status.SUBMITTED] * 6 + [Status.IN_REVIEW] * 2 + [Status.REVIEWED]
CLOSED_STATES = (
    [Status.CREDITED] * 9 + [Status.DENIED] * 8 + [Status.DISPUTED] * 2 + [Status.WITHDRAWN] * 2
)


@dataclass
class Marketplace:
    """What the generator decided about the marketplace before writing its leads."""

    reviewers: list[int]
    market_of: dict[int, int]  # pro's user id -> market id
    offers: dict[int, list[int]]  # pro's user id -> category ids they offer
    window: dict[int, tuple[int, int]]  # pro's user id -> (requests, leads) in the peer window
    peer_rates: dict[int, list[float]]  # market id -> its pros' refund rates
    category_names: dict[int, str]


class Requests:
    """Writes reported leads' requests into the chunk's rows."""

    def __init__(
        self,
        rng: random.Random,
        writer: Writer,
        now: datetime,
        params: policy.Params,
        market: Marketplace,
    ) -> None:
        self.rng, self.writer, self.now, self.params = rng, writer, now, params
        self.reviewers = market.reviewers
        self.market_of = market.market_of
        self.offers = market.offers
        self.window = market.window
        self.peer_rates = market.peer_rates
        self.category_names = market.category_names
        self.auto_approvals: dict[int, int] = {}  # per pro, as the per-pro cap counts them
        self.rows = Rows()

    def _between(self, start: datetime, end: datetime) -> datetime:
        """A moment from start to end, never after the data set's now."""
        end = min(end, self.now)
        return start + (end - start) * self.rng.random() if end > start else start

    def _duplicates(self, lead: dict) -> list[int]:
        if "twin_of" not in lead:
            return []
        twin, received = lead["twin_of"]
        window = timedelta(days=self.params.duplicate_window_days)
        return [twin] if lead["received_at"] - received <= window else []

    def _rule(self, lead: dict, assessment, attempts: list, submitted: datetime):
        """The automatic-approval rules' verdict, from the facts report_facts would read."""
        return policy.automatic_approval(
            policy.ReportFacts(
                reason=assessment.reason,
                price=lead["price"],
                earlier_duplicates=tuple(assessment.duplicate_lead_ids),
                category=self.category_names.get(lead["category_id"], ""),
                category_offered=assessment.category_offered,
                phone_given=True,
                phone_valid=assessment.phone_valid,
                email_given=True,
                email_valid=assessment.email_valid,
                phone_outcomes=tuple(
                    o for c, o, at in attempts if c == "phone" and at <= submitted
                ),
                customer_wrote=True,  # every generated thread opens with the customer
                auto_denied=assessment.peers.auto_deny,
                auto_approvals_30d=self.auto_approvals.get(lead["pro_id"], 0),
            ),
            self.params,
        )

    def _assess(self, lead: dict, reason: str, attempts: list, submitted: datetime):
        """The assessment the service would have stored, made by the policy from these facts."""
        pro = lead["pro_id"]
        known = [policy.Attempt(channel, at) for channel, _, at in attempts if at <= submitted]
        pro_requests, pro_leads = self.window[pro]
        return policy.assess(
            reason=reason,
            received_at=lead["received_at"],
            now=submitted,
            attempts=known,
            available_channels={"message", "phone"},
            pro_requests=pro_requests,
            pro_leads=pro_leads,
            peer_rates=self.peer_rates.get(self.market_of[pro], []),
            duplicate_lead_ids=self._duplicates(lead),
            phone=lead["customer_phone"],
            email=lead["customer_email"],
            category_offered=lead["category_id"] in self.offers[pro],
            in_service_area=True,
            first_response_at=min((a.at for a in known), default=None),
            params=self.params,
        )

    def request(self, lead: dict, attempts: list, force_open: bool) -> None:
        """A report of the lead in a state the machine reaches, with the records that state has.

        Every date lies between the lead's arrival and now, in the order the steps happen, so
        the event log replays and later sweeps (expire_claims) append after it.
        """
        rng, w, now, p, rows = self.rng, self.writer, self.now, self.params, self.rows
        lid, pro, received = lead["id"], lead["pro_id"], lead["received_at"]
        submitted = self._between(received, policy.report_deadline(received, p))
        if "twin_of" in lead and rng.random() < 0.8:
            reason = Reason.DUPLICATE
        else:
            reason = rng.choice(Reason.values)
        assessment = self._assess(lead, reason, attempts, submitted)
        assessment.rule = self._rule(lead, assessment, attempts, submitted)
        automatic = assessment.peers.auto_deny and not force_open
        by_rule = assessment.rule is not None and assessment.rule.applied and not force_open
        if automatic:
            status = Status.DENIED
        elif by_rule:
            status = Status.CREDITED
            self.auto_approvals[pro] = self.auto_approvals.get(pro, 0) + 1
        elif force_open or (now - received < timedelta(days=30) and rng.random() < 0.75):
            # A backlog: recent requests still open, some past their due time.
            status = Status.SUBMITTED if force_open else rng.choice(OPEN_STATES)
        else:
            status = rng.choice(CLOSED_STATES)
        if automatic or by_rule:
            decided = submitted
        else:
            # Most within the day; about one in twelve after the 24-hour promise.
            took = rng.uniform(0.5, 22) if rng.random() < 0.92 else rng.uniform(24, 40)
            decided = self._between(submitted, submitted + timedelta(hours=took))
        rid = w.new_id(RefundRequest)
        claimed_at = None
        if status == Status.IN_REVIEW:
            # Claimed within the claim's length, so the claim is still live now.
            back = timedelta(minutes=rng.uniform(0, p.claim_minutes))
            claimed_at = max(submitted, now - back)
        decided_at = None if status in (*OPEN_STATES, Status.WITHDRAWN) else decided
        rows.requests.append(
            {
                "id": rid,
                "lead_id": lid,
                "pro_id": pro,
                "market_id": self.market_of[pro],
                "reason": reason,
                "details": "The customer asked for something else.",
                "status": status,
                "submitted_at": submitted,
                "due_at": policy.review_due(submitted, p),
                "assessment": assessment.as_json(),
                "claimed_by_id": self.reviewers[0] if claimed_at else None,
                "claimed_until": claimed_at + timedelta(minutes=p.claim_minutes)
                if claimed_at
                else None,
                "decided_at": decided_at,
            }
        )
        trail = [("submit", "", Status.SUBMITTED, pro, submitted)]
        if claimed_at:
            trail.append(
                ("claim", Status.SUBMITTED, Status.IN_REVIEW, self.reviewers[0], claimed_at)
            )
        if status == Status.WITHDRAWN:
            trail.append(("withdraw", Status.SUBMITTED, Status.WITHDRAWN, pro, decided))
        reviewer = rng.choice(self.reviewers)
        if by_rule:
            rows.decisions.append(
                self._auto_approval(rid, pro, decided, assessment.rule, lead["price"])
            )
            trail.append(("auto_approve", Status.SUBMITTED, Status.REVIEWED, None, decided))
            self._credit(rid, lead, decided, True)
        elif status in (Status.REVIEWED, Status.CREDITED):
            posted = status == Status.CREDITED
            approval = self._decision(rid, "approved", reviewer, decided, pro, posted)
            rows.decisions.append({**approval, "amount": lead["price"]})
            trail.append(("approve", Status.SUBMITTED, Status.REVIEWED, reviewer, decided))
            self._credit(rid, lead, decided, posted)
        if status == Status.CREDITED:
            trail.append(("credit_posted", Status.REVIEWED, Status.CREDITED, None, decided))
        if automatic:
            rows.decisions.append(self._auto_denial(rid, pro, decided, assessment.peers.why))
            trail.append(("auto_deny", Status.SUBMITTED, Status.REVIEWED, None, decided))
            trail.append(("denial_sent", Status.REVIEWED, Status.DENIED, None, decided))
        elif status in (Status.DENIED, Status.DISPUTED):
            rows.decisions.append(self._decision(rid, "denied", reviewer, decided, pro, True))
            trail.append(("deny", Status.SUBMITTED, Status.REVIEWED, reviewer, decided))
            trail.append(("denial_sent", Status.REVIEWED, Status.DENIED, None, decided))
        if status == Status.DISPUTED:
            opened = self._between(decided, decided + timedelta(hours=rng.uniform(1, 48)))
            rows.disputes.append(
                {
                    "id": w.new_id(Dispute),
                    "request_id": rid,
                    "message": "The customer clearly asked for a different job.",
                    "opened_at": opened,
                    "due_at": policy.dispute_due(opened, p),
                    "status": "open",
                }
            )
            trail.append(("dispute", Status.DENIED, Status.DISPUTED, pro, opened))
        for action, before, after, actor, at in trail:
            rows.events.append(
                {
                    "id": w.new_id(RefundEvent),
                    "request_id": rid,
                    "actor_id": actor,
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "created_at": at,
                }
            )

    def _credit(self, rid: int, lead: dict, at: datetime, posted: bool) -> None:
        w, rows = self.writer, self.rows
        price, paid = lead["price"], lead["payment_method"]
        entry = None
        if posted and paid == "balance":
            entry = w.new_id(LedgerEntry)
            rows.ledger.append(
                {
                    "id": entry,
                    "pro_id": lead["pro_id"],
                    "kind": "refund",
                    "amount": price,
                    "memo": f"Refund (request #{rid})",
                    "created_at": at,
                }
            )
        rows.credits.append(
            {
                "id": w.new_id(Credit),
                "request_id": rid,
                "amount": price,
                "method": paid,
                "status": "posted" if posted else "pending",
                "created_at": at,
                "posted_at": at if posted else None,
                "attempts": int(posted),
                "ledger_entry_id": entry,
                "gateway_reference": f"load_{rid}" if posted and paid == "card" else "",
            }
        )

    def _notice(self, pro: int, at: datetime, subject: str) -> int:
        notice = self.writer.new_id(InboxMessage)
        self.rows.notices.append(
            {
                "id": notice,
                "recipient_id": pro,
                "created_at": at,
                "emailed_at": at,
                "read_at": at if self.rng.random() < 0.7 else None,
                "subject": subject,
                "body": "About your refund request.",
            }
        )
        return notice

    def _decision(self, rid: int, outcome: str, reviewer: int, at, pro: int, told: bool) -> dict:
        denied = outcome == "denied"
        subject = "Refund denied" if denied else "Refund approved"
        return {
            "notice_id": self._notice(pro, at, subject) if told else None,
            "id": self.writer.new_id(Decision),
            "request_id": rid,
            "outcome": outcome,
            "kind": DecisionKind.REVIEW,
            "decided_by_id": reviewer,
            "decided_at": at,
            "explanation": "The lead matched your categories and area." if denied else "",
            "guidance": "Report only leads that fail the policy." if denied else "",
        }

    def _auto_approval(self, rid: int, pro: int, at: datetime, verdict, price) -> dict:
        return {
            "notice_id": self._notice(pro, at, "Refund approved"),
            "id": self.writer.new_id(Decision),
            "request_id": rid,
            "outcome": "approved",
            "kind": DecisionKind.AUTO_APPROVAL,
            "decided_by_id": None,
            "decided_at": at,
            "explanation": verdict.why,
            "guidance": "",
            "rule": verdict.rule,
            "facts": verdict.facts,
            "amount": price,
        }

    def _auto_denial(self, rid: int, pro: int, at: datetime, why: str) -> dict:
        return {
            "notice_id": self._notice(pro, at, "Refund denied"),
            "id": self.writer.new_id(Decision),
            "request_id": rid,
            "outcome": "denied",
            "kind": DecisionKind.AUTOMATIC,
            "decided_by_id": None,
            "decided_at": at,
            "explanation": notices.auto_denial_explanation(why),
            "guidance": notices.AUTO_DENIAL_GUIDANCE,
        }


@dataclass
class Rows:
    """One chunk's rows per table, in an order that writes every row after what it refers to."""

    leads: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    attempts: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    credits: list[dict] = field(default_factory=list)
    disputes: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    MODELS = (
        Lead,
        Message,
        ContactAttempt,
        RefundRequest,
        InboxMessage,
        Decision,
        LedgerEntry,
        Credit,
        Dispute,
        RefundEvent,
    )

    def in_order(self):
        return zip(self.MODELS, (getattr(self, f.name) for f in fields(self)), strict=True)
