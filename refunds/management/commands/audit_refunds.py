"""Find refund requests whose state, decisions, credit, ledger and event log disagree.

A credit is the amount its approval records (the lead's price, or part of it: more than nothing,
no more than the price), and a posted balance credit's ledger entry is that amount to the cent.
After support overturns a disputed partial credit, the credit and its top-up add up to the new
approval's amount, each with its own ledger entry or card refund. A reversed credit balances:
credit − reversal (+ the restoration, when support restored it on the pro's dispute) is what the
ledger and the card show. The metrics' tallies of decisions (DecisionTally) agree with the
decisions recorded.

Exits non-zero when any request is inconsistent, so CI and operators can rely on it.
"""

from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Prefetch

from accounts.choices import LedgerKind
from accounts.models import LedgerEntry
from accounts.money import money
from leads.choices import PaymentMethod
from refunds.choices import OPEN_STATUSES, CreditStatus, DisputeStatus, Outcome, Status
from refunds.models import Credit, Decision, DecisionTally, RefundEvent, RefundRequest

BATCH = 2000


def allowed_steps() -> set[tuple[str, str]]:
    """Every (from, to) step an event may record.

    The state machine's transitions, the submission that creates a request, and notes that
    leave an open request or dispute where it is (overdue). Support sending a stuck credit
    again is the one other step (RETRY_STEP): the request stays reviewed until it is posted.
    """
    steps = {(str(t.source), str(t.target)) for t in RefundRequest().get_all_status_transitions()}
    steps.add(("", Status.SUBMITTED.value))
    steps |= {(status.value, status.value) for status in (*OPEN_STATUSES, Status.DISPUTED)}
    return steps


ALLOWED_STEPS = allowed_steps()
RETRY_STEP = ("credit_retried", Status.REVIEWED.value, Status.REVIEWED.value)
REVERSAL_ACTION = "reverse_credit"
# The pro's dispute of a reversal, and support's two answers to it.
REVERSAL_DISPUTE_ACTIONS = ("dispute_reversal", "keep_reversal", "restore_credit")


def problems_of(request: RefundRequest) -> Iterator[str]:
    """Every way this request's records contradict each other."""
    status = request.status
    decisions = [d for d in request.decisions.all() if d.undone_at is None]  # Undo
    latest = decisions[-1] if decisions else None
    credit = getattr(request, "credit", None)
    dispute = getattr(request, "dispute", None)
    events = list(request.events.all())

    if not events:
        yield "has no events"
    else:
        if events[-1].to_status != status:
            yield f"last event ends in {events[-1].to_status}, request is {status}"
        previous = ""
        for event in events:
            if event.from_status != previous:
                yield f"event {event.pk} starts from {event.from_status or '-'}, not {previous}"
            step = (event.from_status, event.to_status)
            if step not in ALLOWED_STEPS and (event.action, *step) != RETRY_STEP:
                yield (
                    f"event {event.pk} ({event.action}) moves {event.from_status or '-'} to "
                    f"{event.to_status}, which no transition does"
                )
            previous = event.to_status

    if status in (Status.SUBMITTED, Status.IN_REVIEW, Status.WITHDRAWN):
        if decisions:
            yield f"is {status} but has {len(decisions)} decision(s)"
    elif latest is None:
        yield f"is {status} but has no decision"

    approved = latest is not None and latest.outcome == Outcome.APPROVED
    # A credit of part of the price may be disputed: the request is disputed (or decided on the
    # dispute, waiting for the top-up or the notice) while its first credit stays paid.
    in_dispute = credit is not None and dispute is not None
    if status == Status.CREDITED and not approved:
        yield "is credited but its latest decision is not an approval"
    if status == Status.DENIED and approved:
        yield f"is {status} but its latest decision is an approval"
    if status == Status.DISPUTED and approved and not in_dispute:
        yield f"is {status} but its latest decision is an approval"
    if status == Status.DENIED and latest is not None and latest.notice_id is None:
        yield "is denied but the pro was never told"

    if approved and credit is None:
        yield "was approved but has no credit"
    if not approved and credit is not None:
        yield "has a credit without an approval"
    for decision in decisions:
        if decision.outcome == Outcome.APPROVED and decision.amount is None:
            yield f"approval {decision.pk} records no amount"
    if credit is not None:
        yield from _credit_problems(request, credit, latest if approved else None, in_dispute)
        yield from reversal_problems(request, credit, events)
    if status == Status.DISPUTED and (dispute is None or dispute.status != DisputeStatus.OPEN):
        yield "is disputed without an open dispute"
    if (
        dispute is not None
        and dispute.status != DisputeStatus.OPEN
        and dispute.resolution_id is None
    ):
        yield "dispute is resolved without a resolution decision"


def _credit_problems(
    request: RefundRequest, credit: Credit, approval: Decision | None, in_dispute: bool
) -> Iterator[str]:
    """The credit (and its top-up after a dispute) against the approval and the ledger: the
    amounts add up to the approved amount, to the cent, and never more than the price."""
    status = request.status
    price = request.lead.price
    top_up = getattr(credit, "top_up", None)
    total = credit.total
    if not 0 < credit.amount <= price or total > price:
        yield f"credit {money(total)} is not between $0.00 and the price {money(price)}"
    if approval is not None and approval.amount is not None and total != approval.amount:
        yield f"credit {money(total)} differs from the approved amount {money(approval.amount)}"
    posted = credit.status == CreditStatus.POSTED
    waiting = in_dispute and status in (Status.DISPUTED, Status.REVIEWED)
    if posted != (status == Status.CREDITED) and not (posted and waiting):
        yield f"credit is {credit.status} while the request is {status}"
    if top_up is not None:
        if not in_dispute:
            yield "credit has a top-up without a dispute"
        if top_up.is_posted != (status == Status.CREDITED):
            yield f"top-up is {top_up.status} while the request is {status}"
    for paid, what in ((credit, "credit"), (top_up, "top-up")):
        if paid is None or paid.status != CreditStatus.POSTED:
            continue
        if credit.method == PaymentMethod.BALANCE:
            entry = paid.ledger_entry
            if entry is None:
                yield f"balance {what} posted without a ledger entry"
            elif entry.amount != paid.amount or entry.pro_id != request.pro_id:
                yield f"ledger entry does not match the {what}"
        if credit.method == PaymentMethod.CARD and not paid.gateway_reference:
            yield f"card {what} posted without a gateway reference"


def reversal_problems(request: RefundRequest, credit, events: list) -> Iterator[str]:
    """A reversed credit balances: the credit, less the reversal, plus the restoration when
    support restored it on the pro's dispute, is what the ledger shows for the request (a card
    refund's ledger shows the reversal's debit, and the restoration, alone); one event for the
    reversal, and one for each step of its dispute."""
    reversal = getattr(credit, "reversal", None)
    reversed_events = sum(1 for event in events if event.action == REVERSAL_ACTION)
    counted = {
        action: sum(1 for event in events if event.action == action)
        for action in REVERSAL_DISPUTE_ACTIONS
    }
    if reversal is None:
        if reversed_events:
            yield "has a reversal event but no reversal"
        if any(counted.values()):
            yield "has a reversal dispute event but no reversal"
        return
    if reversed_events != 1:
        yield f"reversal recorded by {reversed_events} events, not one"
    if credit.status != CreditStatus.POSTED or request.status != Status.CREDITED:
        yield "a credit not paid was reversed"
    if reversal.amount != credit.total:
        yield f"reversal {money(reversal.amount)} differs from the credit {money(credit.total)}"
    debit = reversal.ledger_entry
    if debit.pro_id != request.pro_id:
        yield "reversal debit is on another pro's balance"
    top_up = getattr(credit, "top_up", None)
    paid_in = credit.total if credit.method == PaymentMethod.BALANCE else 0
    shown = debit.amount + sum(
        paid.ledger_entry.amount
        for paid in (credit, top_up)
        if paid is not None and paid.ledger_entry is not None
    )
    dispute = getattr(reversal, "dispute", None)
    restoration = dispute.restoration if dispute is not None else None
    expected_events = {
        "dispute_reversal": int(dispute is not None),
        "keep_reversal": int(dispute is not None and dispute.kept),
        "restore_credit": int(dispute is not None and dispute.restored),
    }
    for action, expected in expected_events.items():
        if counted[action] != expected:
            yield f"{action} recorded by {counted[action]} events, not {expected}"
    restored = 0
    if restoration is not None:
        restored = reversal.amount  # what goes back: the amount taken, to the cent
        if restoration.amount != reversal.amount:
            yield (
                f"restoration {money(restoration.amount)} differs from the reversal "
                f"{money(reversal.amount)}"
            )
        if restoration.pro_id != request.pro_id:
            yield "restoration is on another pro's balance"
        shown += restoration.amount
    if shown != paid_in - reversal.amount + restored:
        what = "restored" if restoration is not None else "reversed"
        yield (
            f"ledger shows {money(shown)} for the {what} credit, not "
            f"{money(paid_in - reversal.amount + restored)}"
        )


def tally_problems() -> Iterator[str]:
    """Every (outcome, kind) whose tally is not the number of decisions recorded with it."""
    rows = Decision.objects.order_by().values_list("outcome", "kind").annotate(n=Count("id"))
    counted = {(outcome, kind): n for outcome, kind, n in rows}
    tallied = {
        (t.outcome, t.kind): t.decisions for t in DecisionTally.objects.filter(decisions__gt=0)
    }
    for outcome, kind in sorted(counted.keys() | tallied.keys()):
        recorded, tally = counted.get((outcome, kind), 0), tallied.get((outcome, kind), 0)
        if recorded != tally:
            yield (
                f"the tally of {outcome} decisions of kind {kind} says {tally}, "
                f"{recorded} are recorded"
            )


class Command(BaseCommand):
    help = "Check every refund request's state against its decisions, credit, ledger and events."

    def handle(self, *args, **options) -> None:
        requests = (
            RefundRequest.objects.select_related(
                "lead",
                "credit",
                "credit__ledger_entry",
                "credit__top_up__ledger_entry",
                "credit__reversal__ledger_entry",
                "credit__reversal__dispute__restoration",
                "dispute",
            )
            .prefetch_related(
                "decisions",
                Prefetch("events", queryset=RefundEvent.objects.order_by("created_at", "id")),
            )
            .order_by("pk")
        )
        checked = 0
        bad = 0
        for request in requests.iterator(chunk_size=BATCH):
            checked += 1
            found = list(problems_of(request))
            if found:
                bad += 1
                for problem in found:
                    self.stdout.write(f"request #{request.pk}: {problem}")

        orphans = LedgerEntry.objects.filter(
            kind=LedgerKind.REFUND, credit__isnull=True, credit_top_up__isnull=True
        ).count()
        if orphans:
            self.stdout.write(f"{orphans} refund ledger entries belong to no credit")

        tallies = list(tally_problems())
        for problem in tallies:
            self.stdout.write(problem)

        if bad or orphans:
            raise CommandError(f"{bad} of {checked} refund requests are inconsistent")
        if tallies:
            raise CommandError(f"{len(tallies)} decision tallies disagree with the decisions")
        self.stdout.write(self.style.SUCCESS(f"All {checked} refund requests are consistent."))
