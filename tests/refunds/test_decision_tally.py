"""The decisions' tallies behind refunds_decisions_total: raised on every road a decision is
recorded on, in the decision's own transaction, never lowered, and checked by audit_refunds."""

import importlib
import threading
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.models import Count

from refunds import services
from refunds.choices import DecisionKind, Outcome, Reason
from refunds.models import Decision, DecisionTally
from tests.factories import LeadFactory, ProFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, disputed, run_on_commit, submitted
from tests.refunds.test_auto_approval import twins

pytestmark = pytest.mark.django_db

APPROVED_REVIEW = (Outcome.APPROVED, DecisionKind.REVIEW)
DENIED_REVIEW = (Outcome.DENIED, DecisionKind.REVIEW)


def recorded() -> dict[tuple[str, str], int]:
    """The decisions in the table, counted the slow way."""
    rows = Decision.objects.order_by().values_list("outcome", "kind").annotate(n=Count("id"))
    return {(outcome, kind): n for outcome, kind, n in rows}


def tallied() -> dict[tuple[str, str], int]:
    """What the scrape reads."""
    return services.decisions_by_outcome_and_kind()


def deny(reviewer, request) -> None:
    services.deny(
        reviewer=reviewer, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )


def test_a_reviewers_approvals_and_denials_are_counted(alice, rita):
    services.approve(reviewer=rita, request_id=submitted(alice).pk)
    services.approve(reviewer=rita, request_id=submitted(alice).pk)
    deny(rita, submitted(alice))
    assert tallied() == {APPROVED_REVIEW: 2, DENIED_REVIEW: 1} == recorded()


def test_a_partial_approval_counts_as_an_approval(alice, rita):
    request = submitted(alice)
    services.approve_part(reviewer=rita, request_id=request.pk, reason="Half.", share=50)
    assert tallied() == {APPROVED_REVIEW: 1} == recorded()


def test_automatic_approvals_and_denials_are_counted(alice, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    _, lead = twins(alice)
    run_on_commit(
        capture, services.submit_report, pro=alice, lead_id=lead.pk, reason=Reason.DUPLICATE
    )
    assert tallied() == {(Outcome.APPROVED, DecisionKind.AUTO_APPROVAL): 1} == recorded()
    for _ in range(5):
        LeadFactory(pro=ProFactory())  # quiet peers in alice's market
    for _ in range(11):  # a refund rate far above her peers': the last ones are denied by rule
        lead = LeadFactory(pro=alice)
        services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    assert tallied()[(Outcome.DENIED, DecisionKind.AUTOMATIC)] >= 1
    assert tallied() == recorded()


def test_an_undone_decision_stays_counted_and_the_new_one_counts_too(alice, rita, settings):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    services.undo(reviewer=rita, request_id=request.pk)
    assert tallied() == {APPROVED_REVIEW: 1} == recorded()
    deny(rita, request)
    assert tallied() == {APPROVED_REVIEW: 1, DENIED_REVIEW: 1} == recorded()


def test_supports_overturn_and_uphold_count_as_dispute_decisions(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    overturned = disputed(capture, alice, rita)
    upheld = disputed(capture, alice, rita)
    services.overturn(agent=sam, request_id=overturned.pk, note="You were right.")
    services.uphold(agent=sam, request_id=upheld.pk, explanation=EXPLANATION, guidance=GUIDANCE)
    assert tallied() == {
        DENIED_REVIEW: 2,
        (Outcome.APPROVED, DecisionKind.DISPUTE): 1,
        (Outcome.DENIED, DecisionKind.DISPUTE): 1,
    }
    assert tallied() == recorded()


def test_a_refused_decision_counts_nothing(alice, rita, bob):
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError):
        services.approve(reviewer=rita, request_id=request.pk)  # already decided
    with pytest.raises(services.RefundError):
        services.approve(reviewer=bob, request_id=submitted(alice).pk)  # a pro
    assert tallied() == {APPROVED_REVIEW: 1} == recorded()


def test_a_decision_rolled_back_with_its_transaction_is_not_counted(alice, rita):
    request = submitted(alice)
    services.approve(reviewer=rita, request_id=submitted(alice).pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.approve(reviewer=rita, request_id=request.pk)
        assert tallied() == {APPROVED_REVIEW: 2}
        raise RuntimeError("the rest of the transaction failed")
    assert tallied() == {APPROVED_REVIEW: 1} == recorded()


def test_counts_add_to_existing_tallies_and_make_missing_ones():
    services.count_decisions({APPROVED_REVIEW: 3})
    services.count_decisions({APPROVED_REVIEW: 2, DENIED_REVIEW: 1, ("denied", "automatic"): 0})
    assert tallied() == {APPROVED_REVIEW: 5, DENIED_REVIEW: 1}
    assert DecisionTally.objects.count() == 2


def audit() -> str:
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    return out.getvalue()


def test_audit_refunds_finds_a_tally_that_disagrees_with_the_decisions(alice, rita):
    services.approve(reviewer=rita, request_id=submitted(alice).pk)
    assert "are consistent" in audit()
    DecisionTally.objects.update(decisions=5)
    with pytest.raises(CommandError, match="1 decision tallies disagree with the decisions"):
        audit()
    DecisionTally.objects.all().delete()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "the tally of approved decisions of kind review says 0, 1 are recorded" in (
        out.getvalue()
    )


def test_the_migration_fills_the_tallies_from_the_decisions_already_there(alice, rita):
    services.approve(reviewer=rita, request_id=submitted(alice).pk)
    deny(rita, submitted(alice))
    deny(rita, submitted(alice))
    DecisionTally.objects.all().delete()  # as before the migration
    migration = importlib.import_module("refunds.migrations.0020_decision_tally")
    migration.fill_tallies(apps, None)
    assert tallied() == {APPROVED_REVIEW: 1, DENIED_REVIEW: 2} == recorded()


# Between connections (PostgreSQL): deciding at once neither loses a count nor deadlocks


def at_once(*calls) -> list[BaseException]:
    """Run each call on its own thread and connection, released together; the errors raised."""
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call):
        start.wait()
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks between connections; SQLite serialises writers itself",
)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_reviewers_deciding_at_once_are_all_counted(alice, rita, ralph):
    requests = [submitted(alice) for _ in range(6)]
    calls = []
    for n, request in enumerate(requests):
        reviewer = (rita, ralph)[n % 2]
        if n % 3:
            calls.append(lambda r=request, who=reviewer: deny(who, r))
        else:
            calls.append(
                lambda r=request, who=reviewer: services.approve(reviewer=who, request_id=r.pk)
            )
    assert at_once(*calls) == []
    assert tallied() == {APPROVED_REVIEW: 2, DENIED_REVIEW: 4} == recorded()


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_first_decisions_of_a_kind_at_once_make_one_row_counting_both(alice, rita, ralph):
    first, second = submitted(alice), submitted(alice)
    assert not DecisionTally.objects.exists()
    errors = at_once(
        lambda: services.approve(reviewer=rita, request_id=first.pk),
        lambda: services.approve(reviewer=ralph, request_id=second.pk),
    )
    assert errors == []
    assert tallied() == {APPROVED_REVIEW: 2} == recorded()
    assert DecisionTally.objects.count() == 1


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_one_request_at_once_count_one_decision(alice, rita, ralph):
    request = submitted(alice)
    errors = at_once(
        lambda: services.approve(reviewer=rita, request_id=request.pk),
        lambda: services.approve(reviewer=ralph, request_id=request.pk),
    )
    assert [type(e) for e in errors] == [services.RefundError]
    assert tallied() == {APPROVED_REVIEW: 1} == recorded()
