"""Money never moves twice: people and workers acting on the same request at the same moment.

Real PostgreSQL, real threads, real transactions. Each race releases its threads together with
a threading.Barrier; every thread opens its own database connection and closes it at the end.
The services run their side effects as they do in the web process under tests (django-q2 in
sync mode runs a queued task right after the commit that queued it), so the winner of a decision
race also posts the credit or sends the denial, inside the race.

After every race the request must be in one consistent state: audit_refunds' problems_of finds
nothing, and the event log reads as what happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ

from accounts.choices import LedgerKind, Role
from accounts.models import LedgerEntry, User
from leads.choices import PaymentMethod, Sender
from refunds import services, tasks
from refunds.choices import Outcome, Reason, Status
from refunds.gateway import GatewayRefund, SandboxGateway
from refunds.management.commands.audit_refunds import problems_of
from refunds.models import (
    Credit,
    CreditReversal,
    Decision,
    Dispute,
    RefundEvent,
    RefundRequest,
    ReversalDispute,
    SandboxRefund,
)
from tests.factories import StaffFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, chatty_lead, say, submitted

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="races need row locks between connections; SQLite serialises every writer "
        "on one file lock, so it cannot show them (CI runs this file on PostgreSQL)",
    ),
]

RUNS = 50


# Racing


class Result:
    """What one racer got: a value, or the exception it raised."""

    def __init__(self, value: Any = None, error: BaseException | None = None):
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None

    def __repr__(self) -> str:
        return f"<ok {self.value!r}>" if self.ok else f"<error {self.error!r}>"


def race(*racers: Callable[[], Any]) -> list[Result]:
    """Run each racer in its own thread, all released at the same moment."""
    start = threading.Barrier(len(racers))
    outcomes: list[Result | None] = [None] * len(racers)

    def run(index: int, racer: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            outcomes[index] = Result(value=racer())
        except BaseException as error:  # noqa: BLE001 - the test inspects every outcome
            outcomes[index] = Result(error=error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer is stuck (deadlock?)"
    return outcomes  # type: ignore[return-value]


def winner_and_loser(outcomes: list[Result]) -> tuple[Result, Result]:
    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    return winners[0], losers[0]


def fresh(user: User) -> User:
    # Each thread gets its own instance: permission and role caches live on the object.
    return User.objects.get(pk=user.pk)


def actions_of(request: RefundRequest) -> list[str]:
    return list(
        RefundEvent.objects.filter(request=request)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def assert_consistent(request: RefundRequest) -> RefundRequest:
    request = (
        RefundRequest.objects.select_related(
            "lead", "credit__ledger_entry", "credit__reversal__ledger_entry", "dispute"
        )
        .prefetch_related("decisions", "events")
        .get(pk=request.pk)
    )
    assert list(problems_of(request)) == []
    return request


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Two reviewers approve the same request


def test_two_reviewers_approving_at_once_move_the_money_once_every_time(alice, rita, ralph):
    balance_runs = 0
    for run in range(RUNS):
        method = PaymentMethod.CARD if run % 2 else PaymentMethod.BALANCE
        request = submitted(alice, payment_method=method, price=Decimal("30.00"))

        outcomes = race(
            partial(services.approve, reviewer=fresh(rita), request_id=request.pk),
            partial(services.approve, reviewer=fresh(ralph), request_id=request.pk),
        )

        won, lost = winner_and_loser(outcomes)
        assert isinstance(won.value, Decision)
        assert isinstance(lost.error, services.RefundError), lost.error
        # The winner's credit may already be posted when the loser gets the lock.
        assert str(lost.error) in {
            "This request is reviewed and cannot be changed that way.",
            "This request is credited and cannot be changed that way.",
        }
        assert Decision.objects.filter(request=request).count() == 1
        assert Credit.objects.filter(request=request).count() == 1
        request = assert_consistent(request)
        assert request.status == Status.CREDITED
        assert actions_of(request) == ["submit", "approve", "credit_posted"]
        if method == PaymentMethod.BALANCE:
            balance_runs += 1
            assert request.credit.ledger_entry.amount == Decimal("30.00")
        else:
            refunds = SandboxRefund.objects.filter(idempotency_key=f"refund-request-{request.pk}")
            assert refunds.count() == 1
    refunds = LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND)
    assert refunds.count() == balance_runs
    assert alice.balance() == Decimal("30.00") * balance_runs
    assert SandboxRefund.objects.count() == RUNS - balance_runs


def test_two_partial_approvals_at_once_pay_once_the_winners_amount(alice, rita, ralph):
    """Rita approves half and Ralph three quarters at the same moment: one decision, one credit
    of the winner's amount, one ledger entry or card refund of that amount."""
    for run in range(20):
        method = PaymentMethod.CARD if run % 2 else PaymentMethod.BALANCE
        request = submitted(alice, payment_method=method, price=Decimal("24.50"))
        before = alice.balance()

        outcomes = race(
            partial(
                services.approve_part,
                reviewer=fresh(rita),
                request_id=request.pk,
                share=50,
                reason="Half: one call answered.",
            ),
            partial(
                services.approve_part,
                reviewer=fresh(ralph),
                request_id=request.pk,
                share=75,
                reason="Three quarters: the number worked once.",
            ),
        )

        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, services.RefundError), lost.error
        assert "cannot be changed that way" in str(lost.error)
        amount = won.value.amount
        assert amount in (Decimal("12.25"), Decimal("18.38"))
        assert Decision.objects.filter(request=request).count() == 1
        assert Credit.objects.get(request=request).amount == amount
        request = assert_consistent(request)
        assert request.status == Status.CREDITED
        assert actions_of(request) == ["submit", "approve_part", "credit_posted"]
        if method == PaymentMethod.BALANCE:
            assert alice.balance() - before == amount
        else:
            refund = SandboxRefund.objects.get(idempotency_key=f"refund-request-{request.pk}")
            assert refund.amount == amount
            assert alice.balance() == before


def test_two_agents_topping_up_a_disputed_partial_credit_pay_the_rest_once(alice, rita, sam, sue):
    for run in range(10):
        method = PaymentMethod.CARD if run % 2 else PaymentMethod.BALANCE
        request = submitted(alice, payment_method=method, price=Decimal("24.50"))
        services.approve_part(reviewer=rita, request_id=request.pk, share=50, reason="Half.")
        services.open_dispute(pro=alice, request_id=request.pk, message="The number was fake.")
        before = alice.balance()

        outcomes = race(
            partial(services.overturn, agent=fresh(sam), request_id=request.pk, note="Agreed."),
            partial(services.overturn, agent=fresh(sue), request_id=request.pk, note="Yes."),
        )

        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, services.RefundError), lost.error
        credit = Credit.objects.get(request=request)
        assert credit.top_up.amount == Decimal("12.25")
        assert credit.total == Decimal("24.50")
        request = assert_consistent(request)
        assert request.status == Status.CREDITED
        if method == PaymentMethod.BALANCE:
            assert alice.balance() - before == Decimal("12.25")
        else:
            key = f"refund-request-{request.pk}-top-up"
            assert SandboxRefund.objects.get(idempotency_key=key).amount == Decimal("12.25")


def test_the_reviewer_who_loses_the_race_on_the_request_page_reads_why(alice, rita, ralph):
    """The admin's request page, two browsers pressing Approve at once: no 500, one message."""
    for _ in range(5):
        request = submitted(alice)
        url = reverse("admin:refunds_refundrequest_change", args=[request.pk])
        clients = [signed_in(rita), signed_in(ralph)]

        outcomes = race(*(partial(c.post, url, {"transition": "approve"}) for c in clients))

        assert all(o.ok for o in outcomes), outcomes
        responses = [o.value for o in outcomes]
        assert [r.status_code for r in responses] == [302, 302]
        # The winner goes back to the queue; the loser stays on the request to read why.
        queue = reverse("admin:refunds_refundrequest_changelist")
        lost = [i for i, r in enumerate(responses) if r.url != queue]
        assert len(lost) == 1, [r.url for r in responses]
        page = clients[lost[0]].get(responses[lost[0]].url)
        assert page.status_code == 200
        assert "Approve refused: This request is" in page.content.decode()
        assert Decision.objects.filter(request=request).count() == 1
        assert Credit.objects.filter(request=request).count() == 1
        assert_consistent(request)


# Different decisions racing


def test_approve_and_deny_at_once_end_in_one_decision(alice, rita, ralph):
    seen = set()
    for _ in range(10):
        request = submitted(alice)
        outcomes = race(
            partial(services.approve, reviewer=fresh(rita), request_id=request.pk),
            partial(
                services.deny,
                reviewer=fresh(ralph),
                request_id=request.pk,
                explanation=EXPLANATION,
                guidance=GUIDANCE,
            ),
        )
        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, services.RefundError)
        assert Decision.objects.filter(request=request).count() == 1
        request = assert_consistent(request)
        if won.value.outcome == Outcome.APPROVED:
            seen.add("approved")
            assert request.status == Status.CREDITED
            assert actions_of(request) == ["submit", "approve", "credit_posted"]
        else:
            seen.add("denied")
            assert request.status == Status.DENIED
            assert not Credit.objects.filter(request=request).exists()
            assert actions_of(request) == ["submit", "deny", "denial_sent"]
    assert seen  # which side wins is up to the scheduler; either way the state is whole


def test_a_denial_and_the_pros_withdrawal_at_once_end_in_one_state(alice, rita):
    for _ in range(10):
        request = submitted(alice)
        outcomes = race(
            partial(
                services.deny,
                reviewer=fresh(rita),
                request_id=request.pk,
                explanation=EXPLANATION,
                guidance=GUIDANCE,
            ),
            partial(services.withdraw, pro=fresh(alice), request_id=request.pk),
        )
        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, services.RefundError)
        request = assert_consistent(request)
        if isinstance(won.value, Decision):
            assert request.status == Status.DENIED
            assert actions_of(request) == ["submit", "deny", "denial_sent"]
            assert "cannot be changed that way" in str(lost.error)
        else:
            assert request.status == Status.WITHDRAWN
            assert not Decision.objects.filter(request=request).exists()
            assert actions_of(request) == ["submit", "withdraw"]
            assert str(lost.error) == "This request is withdrawn and cannot be changed that way."


def denied_request(pro: User, reviewer: User) -> RefundRequest:
    request = submitted(pro)
    # Autocommit: the denial's notice is delivered as soon as the decision commits.
    services.deny(
        reviewer=reviewer, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )
    request.refresh_from_db()
    assert request.status == Status.DENIED
    return request


def test_two_dispute_replies_at_once_open_one_dispute(alice, rita):
    for _ in range(10):
        request = denied_request(alice, rita)
        outcomes = race(
            partial(
                services.open_dispute, pro=fresh(alice), request_id=request.pk, message="First."
            ),
            partial(
                services.open_dispute, pro=fresh(alice), request_id=request.pk, message="Second."
            ),
        )
        won, lost = winner_and_loser(outcomes)
        assert str(lost.error) == (
            "You have already disputed this decision; support's answer is final."
        )
        dispute = Dispute.objects.get(request=request)
        assert dispute.pk == won.value.pk
        request = assert_consistent(request)
        assert request.status == Status.DISPUTED
        assert actions_of(request) == ["submit", "deny", "denial_sent", "dispute"]
        assert request.events.last().note == dispute.message


def test_two_dispute_replies_posted_from_the_inbox_at_once_open_one_dispute(alice, rita):
    request = denied_request(alice, rita)
    url = reverse("dispute", args=[request.decisions.get().notice_id])
    clients = [signed_in(alice), signed_in(alice)]

    outcomes = race(
        *(partial(c.post, url, {"message": f"Reply {n}"}) for n, c in enumerate(clients))
    )

    assert [o.value.status_code for o in outcomes] == [302, 302], outcomes
    assert Dispute.objects.filter(request=request).count() == 1
    assert_consistent(request)
    pages = [c.get(o.value.url).content.decode() for c, o in zip(clients, outcomes, strict=True)]
    assert sum("You have already disputed this decision" in page for page in pages) == 1


# The pro double-submits the report


def test_two_report_submissions_of_one_lead_at_once_make_one_request(alice):
    for _ in range(10):
        lead = chatty_lead(alice)
        outcomes = race(
            *(
                partial(
                    services.submit_report,
                    pro=fresh(alice),
                    lead_id=lead.pk,
                    reason=Reason.WRONG_JOB,
                )
                for _ in range(2)
            )
        )
        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, services.AlreadyReported)
        assert lost.error.request.pk == won.value.pk
        request = RefundRequest.objects.get(lead=lead)
        assert_consistent(request)
        assert actions_of(request) == ["submit"]


def test_the_report_form_posted_twice_at_once_makes_one_request(alice):
    for _ in range(5):
        lead = chatty_lead(alice)
        url = reverse("report", args=[lead.pk])
        clients = [signed_in(alice), signed_in(alice)]
        form = {"reason": Reason.WRONG_JOB, "details": "They wanted a roof."}

        outcomes = race(*(partial(c.post, url, form) for c in clients))

        assert all(o.ok for o in outcomes), outcomes
        thread = reverse("lead_thread", args=[lead.pk])
        assert [(o.value.status_code, o.value.url) for o in outcomes] == [(302, thread)] * 2
        request = RefundRequest.objects.get(lead=lead)
        assert actions_of(request) == ["submit"]
        pages = [c.get(thread).content.decode() for c in clients]
        assert sum("Your refund request is in." in page for page in pages) == 1
        assert sum("You reported this lead on" in page for page in pages) == 1


# The same credit task delivered twice


class SlowCountingGateway:
    """The sandbox, slowed down so a second delivery arrives while the first is still paying."""

    calls: list[str] = []
    lock = threading.Lock()

    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund:
        with SlowCountingGateway.lock:
            SlowCountingGateway.calls.append(idempotency_key)
        threading.Event().wait(0.2)
        return SandboxGateway().refund(idempotency_key=idempotency_key, amount=amount)


@pytest.fixture
def queued_tasks(monkeypatch):
    """Tasks go into the ORM broker (as in production) instead of running at once."""
    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.mark.parametrize("method", [PaymentMethod.BALANCE, PaymentMethod.CARD])
def test_the_same_credit_task_delivered_twice_at_once_posts_one_credit(
    alice, rita, settings, queued_tasks, method
):
    settings.PAYMENT_GATEWAY = f"{__name__}.SlowCountingGateway"
    SlowCountingGateway.calls = []
    for _ in range(5):
        OrmQ.objects.all().delete()
        request = submitted(alice, payment_method=method)
        services.approve(reviewer=rita, request_id=request.pk)
        credit = Credit.objects.get(request=request)
        queued = [q.task for q in OrmQ.objects.all()]
        assert [(t["func"], t["args"]) for t in queued] == [
            ("refunds.tasks.post_credit", (credit.pk,))
        ]

        delivery = partial(tasks.post_credit, credit.pk)
        outcomes = race(delivery, delivery)

        assert all(o.ok for o in outcomes), outcomes
        credit.refresh_from_db()
        assert credit.attempts == 1
        request = assert_consistent(request)
        assert request.status == Status.CREDITED
        assert actions_of(request) == ["submit", "approve", "credit_posted"]
        assert request.decisions.get().notice is not None
        if method == PaymentMethod.BALANCE:
            assert LedgerEntry.objects.filter(credit=credit).count() == 1
        else:
            assert (
                SandboxRefund.objects.filter(idempotency_key=f"refund-request-{request.pk}").count()
                == 1
            )
    if method == PaymentMethod.BALANCE:
        assert LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND).count() == 5
        assert SlowCountingGateway.calls == []
    else:
        # Not only one refund at the provider: one call to it.
        assert len(SlowCountingGateway.calls) == 5
        assert len(set(SlowCountingGateway.calls)) == 5


# Undo against the credit task


def test_undo_racing_the_credit_task_pays_once_or_not_at_all(alice, rita, settings):
    """Undo at the last moment of its window while the worker sends the credit: either the
    credit went out and Undo is refused, or Undo won and nothing was paid, every time."""
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    undone = paid = 0
    for run in range(RUNS):
        method = PaymentMethod.CARD if run % 2 else PaymentMethod.BALANCE
        request = submitted(alice, payment_method=method, price=Decimal("30.00"))
        services.approve(reviewer=fresh(rita), request_id=request.pk)
        credit = Credit.objects.get(request=request)

        took_back, sent = race(
            partial(services.undo, reviewer=fresh(rita), request_id=request.pk),
            partial(services.post_credit, credit.pk),
        )

        assert sent.ok, sent.error
        request = assert_consistent(request)
        ledger = LedgerEntry.objects.filter(
            pro=alice, kind=LedgerKind.REFUND, credit__request=request
        )
        card = SandboxRefund.objects.filter(idempotency_key=f"refund-request-{request.pk}")
        if took_back.ok:
            undone += 1
            assert request.status == Status.IN_REVIEW
            assert not Credit.objects.filter(request=request).exists()
            assert not ledger.exists() and not card.exists()
            assert actions_of(request) == ["submit", "approve", "undo"]
        else:
            paid += 1
            assert isinstance(took_back.error, services.RefundError), took_back.error
            assert request.status == Status.CREDITED
            assert ledger.count() + card.count() == 1
            assert actions_of(request) == ["submit", "approve", "credit_posted"]
    assert undone + paid == RUNS


# Two members of support reverse the same credit


def test_two_reversals_of_one_credit_at_once_take_the_money_back_once(alice, rita, sam, sue):
    for _ in range(10):
        request = submitted(alice, price=Decimal("30.00"))
        services.approve(reviewer=rita, request_id=request.pk)
        request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
        assert request.status == Status.CREDITED
        say(request, Sender.CUSTOMER, 60)
        say(request, Sender.PRO, 90)
        before = alice.balance()

        outcomes = race(
            *(
                partial(
                    services.reverse_credit,
                    agent=fresh(agent),
                    request_id=request.pk,
                    explanation="The customer hired the pro after the refund.",
                )
                for agent in (sam, sue)
            )
        )

        won, lost = winner_and_loser(outcomes)
        assert isinstance(won.value, CreditReversal)
        assert isinstance(lost.error, services.RefundError), lost.error
        assert str(lost.error) == services.ALREADY_REVERSED
        assert CreditReversal.objects.filter(credit__request=request).count() == 1
        assert alice.balance() == before - Decimal("30.00")
        assert actions_of(request).count("reverse_credit") == 1
        assert_consistent(request)


# Two members of support answer the pro's dispute of one reversal


def test_two_restorations_of_one_reversal_at_once_put_the_money_back_once(alice, rita, sam, sue):
    kim = User.objects.get(pk=StaffFactory(email="kim@example.test", roles=[Role.SUPPORT]).pk)
    for _ in range(10):
        request = submitted(alice, price=Decimal("30.00"))
        services.approve(reviewer=rita, request_id=request.pk)
        request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
        say(request, Sender.CUSTOMER, 60)
        say(request, Sender.PRO, 90)
        services.reverse_credit(agent=sam, request_id=request.pk, explanation="Booked after.")
        services.open_reversal_dispute(pro=alice, request_id=request.pk, message="Not this job.")
        before = alice.balance()

        outcomes = race(
            *(
                partial(
                    services.restore_credit,
                    agent=fresh(agent),
                    request_id=request.pk,
                    note="The customer wrote about another job.",
                )
                for agent in (sue, kim)
            )
        )

        won, lost = winner_and_loser(outcomes)
        assert isinstance(won.value, ReversalDispute)
        assert isinstance(lost.error, services.RefundError), lost.error
        assert str(lost.error) == services.ALREADY_RESTORED
        assert alice.balance() == before + Decimal("30.00")
        restored = LedgerEntry.objects.filter(
            reversal_restoration__reversal__credit__request=request
        )
        assert restored.count() == 1
        assert actions_of(request).count("restore_credit") == 1
        assert_consistent(request)
