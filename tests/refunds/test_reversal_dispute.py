"""A pro disputes support's reversal of their credit, from the reversal's message in the Inbox,
once; support, four eyes, keeps the reversal or restores the credit from the disputed
reversals list; money goes back once, and the audit balances."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import LedgerKind, Role
from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod, Sender
from refunds import services
from refunds.choices import DisputeStatus, Status
from refunds.models import (
    Dispute,
    RefundEvent,
    RefundRequest,
    ReversalDispute,
    SandboxRefund,
)
from tests.factories import StaffFactory
from tests.refunds.staff_flows import (
    REVERSAL_DISPUTE,
    chatty_lead,
    reversal_disputed,
    reversed_credit,
    run_on_commit,
    say,
)
from webhooks.choices import EventType
from webhooks.models import Event

LIST = "/admin/refunds/reversaldispute/"
KEPT = "The customer booked this very job with you after the refund."
RESTORED = "You are right: the customer wrote about a different job."


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def kim(db):
    """A third member of support: neither reversed the credit nor decided the request."""
    return StaffFactory(email="kim@example.test", roles=[Role.SUPPORT])


def notice_of(request: RefundRequest) -> InboxMessage:
    return InboxMessage.objects.get(credit_reversal__credit__request=request)


def page_of(dispute: ReversalDispute) -> str:
    return f"{LIST}{dispute.pk}/change/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def events_of(request: RefundRequest) -> list[str]:
    return list(request.events.order_by("created_at", "id").values_list("action", flat=True))


def webhook_data(request: RefundRequest, event_type: str) -> list[dict]:
    return list(
        Event.objects.filter(subject=f"refund_request:{request.pk}", type=event_type)
        .order_by("sequence")
        .values_list("data", flat=True)
    )


def audit() -> str:
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    return out.getvalue()


# The pro's side: the Inbox


def test_the_reversal_s_message_offers_a_dispute_and_its_email_says_so(
    capture, client_for, alice, rita, sam, mailoutbox
):
    request = reversed_credit(capture, alice, rita, sam)
    notice = notice_of(request)
    assert "dispute the reversal from this message in your Inbox" in notice.body
    html = client_for(alice).get(f"/inbox/{notice.pk}/").text
    assert "Reply to dispute the reversal" in html
    assert f'action="/inbox/{notice.pk}/dispute/"' in html
    assert "Open the conversation with" in html
    email = mailoutbox[-1]
    assert email.subject == notice.subject
    assert f"/inbox/{notice.pk}/" in email.body
    assert "To dispute this decision, open it in your Inbox" in email.body


def test_the_pro_disputes_the_reversal_and_is_told_when_in_their_zone(
    capture, client_for, alice, rita, sam
):
    alice.time_zone = "America/New_York"
    alice.save(update_fields=("time_zone",))
    request = reversed_credit(capture, alice, rita, sam)
    notice = notice_of(request)
    client = client_for(alice)
    response = client.post(
        f"/inbox/{notice.pk}/dispute/", {"message": REVERSAL_DISPUTE}, follow=True
    )
    dispute = ReversalDispute.objects.get(reversal__credit__request=request)
    assert dispute.message == REVERSAL_DISPUTE
    assert dispute.status == DisputeStatus.OPEN
    hours = services.params().dispute_hours
    assert dispute.due_at - dispute.opened_at == timedelta(hours=hours)
    due = timezone.localtime(dispute.due_at, ZoneInfo("America/New_York"))
    when = f"{due:%b} {due.day}, {due:%-I:%M %p} {due.tzname()}"
    assert f"answer here by {when}" in response.text
    page = client.get(f"/inbox/{notice.pk}/").text
    assert "Reversal disputed on" in page
    assert when in page
    assert REVERSAL_DISPUTE in page
    assert "Reply to dispute the reversal" not in page

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    event = request.events.latest("created_at", "id")
    assert (event.action, event.actor, event.note) == ("dispute_reversal", alice, REVERSAL_DISPUTE)
    assert (event.from_status, event.to_status) == (Status.CREDITED, Status.CREDITED)
    [opened] = webhook_data(request, EventType.DISPUTE_OPENED)
    assert opened["about"] == "credit_reversal"
    assert opened["reversed_amount"] == "24.50"
    assert opened["status"] == Status.CREDITED
    assert "consistent" in audit()


def test_a_reversal_is_disputed_once(capture, client_for, alice, rita, sam):
    request = reversal_disputed(capture, alice, rita, sam)
    notice = notice_of(request)
    response = client_for(alice).post(
        f"/inbox/{notice.pk}/dispute/", {"message": "And again."}, follow=True
    )
    assert "You have already disputed this reversal" in response.text
    with pytest.raises(services.RefundError, match="already disputed this reversal"):
        services.open_reversal_dispute(pro=alice, request_id=request.pk, message="Again.")
    assert ReversalDispute.objects.count() == 1
    assert events_of(request).count("dispute_reversal") == 1
    # The database refuses a second dispute of one reversal, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReversalDispute.objects.create(
            reversal=request.credit.reversal, message="Twice.", due_at=timezone.now()
        )


def test_the_dispute_needs_a_reason_and_changes_nothing_without_one(
    capture, client_for, alice, rita, sam
):
    request = reversed_credit(capture, alice, rita, sam)
    notice = notice_of(request)
    response = client_for(alice).post(f"/inbox/{notice.pk}/dispute/", {"message": "  "})
    assert response.status_code == 200
    assert "Tell us why you think the decision is wrong." in response.text
    assert not ReversalDispute.objects.exists()
    with pytest.raises(services.RefundError, match="why you think the reversal is wrong"):
        services.open_reversal_dispute(pro=alice, request_id=request.pk, message=" ")


def test_another_pro_cannot_dispute_the_reversal(capture, client_for, alice, bob, rita, sam):
    request = reversed_credit(capture, alice, rita, sam)
    notice = notice_of(request)
    client = client_for(bob)
    assert client.get(f"/inbox/{notice.pk}/").status_code == 404
    assert client.post(f"/inbox/{notice.pk}/dispute/", {"message": "Mine!"}).status_code == 404
    with pytest.raises(RefundRequest.DoesNotExist):
        services.open_reversal_dispute(pro=bob, request_id=request.pk, message="Mine!")
    assert not ReversalDispute.objects.exists()


def test_a_credit_never_reversed_has_no_reversal_to_dispute(capture, alice, rita):
    lead = chatty_lead(alice)
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job")
    run_on_commit(capture, services.approve, reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError, match="Only a reversed credit"):
        services.open_reversal_dispute(pro=alice, request_id=request.pk, message="Why not?")


def test_a_partial_credit_disputed_and_later_reversed_can_dispute_the_reversal(
    capture, client_for, alice, rita, sam, sue, kim
):
    """The request's Dispute (of the partial credit) stays what it was; the reversal has its
    own."""
    lead = chatty_lead(alice, price=Decimal("24.50"))
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason="wrong_job")
    run_on_commit(
        capture,
        services.approve_part,
        reviewer=rita,
        request_id=request.pk,
        share=50,
        reason="A quote went out first.",
    )
    services.open_dispute(pro=alice, request_id=request.pk, message="They never replied.")
    run_on_commit(
        capture,
        services.uphold,
        agent=sam,
        request_id=request.pk,
        explanation="The quote was the job.",
        guidance="Report before you quote.",
    )
    request = RefundRequest.objects.select_related("credit", "lead").get(pk=request.pk)
    assert request.status == Status.CREDITED
    say(request, Sender.CUSTOMER, 60, "Can you still come on Tuesday?")
    say(request, Sender.PRO, 90, "Yes, see you at nine.")
    run_on_commit(
        capture, services.reverse_credit, agent=sue, request_id=request.pk, explanation="Booked."
    )
    notice = notice_of(request)
    assert "$12.25 has been taken back" in notice.body
    client_for(alice).post(f"/inbox/{notice.pk}/dispute/", {"message": REVERSAL_DISPUTE})
    dispute = ReversalDispute.objects.get(reversal__credit__request=request)
    assert Dispute.objects.get(request=request).status == DisputeStatus.UPHELD
    # sam decided the request (upheld the first dispute), sue reversed it: kim answers.
    for colleague in (sam, sue):
        with pytest.raises(services.RefundError, match="another member of support"):
            services.restore_credit(agent=colleague, request_id=request.pk, note="Back.")
    run_on_commit(capture, services.restore_credit, agent=kim, request_id=request.pk, note="Back.")
    dispute.refresh_from_db()
    assert dispute.restoration.amount == Decimal("12.25")
    assert alice.balance() == Decimal("12.25")
    assert "consistent" in audit()


# Support's side: the disputed reversals list and the request page


def test_the_list_shows_open_disputed_reversals_and_who_reversed_them(
    capture, client_for, alice, rita, sam, sue
):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = request.credit.reversal.dispute
    response = client_for(sam).get(LIST)
    assert [d.pk for d in response.context["cl"].result_list] == [dispute.pk]
    html = response.text
    assert "Disputed reversals" in html
    assert REVERSAL_DISPUTE in html
    assert "$24.50 taken back" in html
    assert "you reversed it" in html
    assert "you reversed it" not in client_for(sue).get(LIST).text


def test_the_reverser_gets_no_buttons_and_a_refusal(capture, client_for, alice, rita, sam):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = request.credit.reversal.dispute
    client = client_for(sam)
    html = client.get(page_of(dispute)).text
    assert REVERSAL_DISPUTE in html
    assert 'value="restore_credit"' not in html and 'value="keep_reversal"' not in html
    assert "another member of support must answer the pro&#x27;s dispute" in html
    response = client.post(
        page_of(dispute), {"transition": "restore_credit", "restore_credit-note": "Back."}
    )
    assert response.status_code == 302
    assert any("You reversed this credit" in m for m in _messages(response))
    dispute.refresh_from_db()
    assert dispute.is_open
    assert not LedgerEntry.objects.filter(reversal_restoration__isnull=False).exists()


def test_a_reviewer_cannot_answer_nor_open_the_list(capture, client_for, alice, rita, sam):
    request = reversal_disputed(capture, alice, rita, sam)
    assert client_for(rita).get(LIST).status_code == 403
    html = client_for(rita).get(f"/admin/refunds/refundrequest/{request.pk}/change/").text
    assert "Support answers the pro&#x27;s dispute of the reversal." in html
    with pytest.raises(services.RefundError, match="permission"):
        services.keep_reversal(agent=rita, request_id=request.pk, explanation="No.")


def test_support_keeps_the_reversal_and_the_pro_reads_why(
    capture, client_for, alice, rita, sam, sue, mailoutbox
):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = request.credit.reversal.dispute
    client = client_for(sue)
    html = client.get(page_of(dispute)).text
    assert 'value="keep_reversal"' in html and 'value="restore_credit"' in html
    assert "Keep the reversal…" in html and "Restore the credit…" in html
    empty = client.post(page_of(dispute), {"transition": "keep_reversal"})
    assert empty.status_code == 400
    with capture(execute=True):
        done = client.post(
            page_of(dispute), {"transition": "keep_reversal", "keep_reversal-explanation": KEPT}
        )
    assert done.url == LIST
    assert any(m.startswith("Kept the reversal of request") for m in _messages(done))
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer, dispute.resolved_by) == (
        DisputeStatus.UPHELD,
        KEPT,
        sue,
    )
    assert dispute.restoration is None
    assert alice.balance() == Decimal("0.00")
    assert events_of(request)[-1] == "keep_reversal"
    [resolved] = webhook_data(request, EventType.DISPUTE_RESOLVED)
    assert (resolved["about"], resolved["resolution"]) == ("credit_reversal", "upheld")

    answer = InboxMessage.objects.get(reversal_dispute_answer=dispute)
    assert answer.subject == f"Dispute reviewed: reversal kept ({request.lead.customer_name})"
    assert KEPT in answer.body and "This decision is final." in answer.body
    assert mailoutbox[-1].subject == answer.subject
    pro = client_for(alice)
    assert "Open the conversation with" in pro.get(f"/inbox/{answer.pk}/").text
    original = pro.get(f"/inbox/{notice_of(request).pk}/").text
    assert "Support reviewed your dispute and kept the reversal." in original
    # Off the default list, on the list of kept ones.
    client = client_for(sue)
    assert list(client.get(LIST).context["cl"].result_list) == []
    kept = client.get(LIST, {"state": DisputeStatus.UPHELD}).context["cl"].result_list
    assert [d.pk for d in kept] == [dispute.pk]
    assert "consistent" in audit()


@pytest.mark.parametrize("method", [PaymentMethod.BALANCE, PaymentMethod.CARD])
def test_support_restores_the_credit_on_the_balance(
    method, capture, client_for, alice, rita, sam, sue
):
    request = reversal_disputed(capture, alice, rita, sam, payment_method=method)
    before = alice.balance()
    dispute = request.credit.reversal.dispute
    with capture(execute=True):
        done = client_for(sue).post(
            page_of(dispute), {"transition": "restore_credit", "restore_credit-note": RESTORED}
        )
    assert done.status_code == 302
    assert any(m.startswith("Restored the credit of request") for m in _messages(done))
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OVERTURNED
    entry = dispute.restoration
    assert (entry.amount, entry.kind, entry.pro) == (Decimal("24.50"), LedgerKind.ADJUSTMENT, alice)
    assert "Refund restored" in entry.memo
    assert alice.balance() == before + Decimal("24.50")
    assert SandboxRefund.objects.count() == (1 if method == PaymentMethod.CARD else 0)
    event = request.events.latest("created_at", "id")
    assert (event.action, event.actor, event.note) == ("restore_credit", sue, RESTORED)
    [resolved] = webhook_data(request, EventType.DISPUTE_RESOLVED)
    assert resolved["resolution"] == "overturned"
    assert resolved["restored_amount"] == "24.50"

    answer = InboxMessage.objects.get(reversal_dispute_answer=dispute)
    assert "refund restored" in answer.subject
    assert "$24.50 has been added back to your prepaid balance" in answer.body
    assert RESTORED in answer.body
    pro = client_for(alice)
    original = pro.get(f"/inbox/{notice_of(request).pk}/").text
    assert "Support restored the credit: $24.50 is back on your balance." in original
    credits = pro.get("/credits/").text
    assert "Restored" in credits and "+$24.50" in credits
    staff = client_for(sue).get(page_of(dispute)).text
    assert "Credit restored" in staff and "+$24.50 back on the pro's balance" in staff
    assert "consistent" in audit()


def test_restoring_twice_is_refused_and_money_goes_back_once(
    capture, client_for, alice, rita, sam, sue, kim
):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = request.credit.reversal.dispute
    run_on_commit(capture, services.restore_credit, agent=sue, request_id=request.pk, note="Ok.")
    with pytest.raises(services.RefundError) as refused:
        services.restore_credit(agent=kim, request_id=request.pk, note="Again.")
    assert str(refused.value) == services.ALREADY_RESTORED
    with pytest.raises(services.RefundError, match="already been restored"):
        services.keep_reversal(agent=kim, request_id=request.pk, explanation="Keep.")
    # The page says so to whoever presses the button on a stale page.
    response = client_for(kim).post(
        page_of(dispute), {"transition": "restore_credit", "restore_credit-note": "Again."}
    )
    assert any("not open to you" in m or "already been restored" in m for m in _messages(response))
    assert (
        LedgerEntry.objects.filter(
            pro=alice, amount=Decimal("24.50"), memo__contains="restored"
        ).count()
        == 1
    )
    assert events_of(request).count("restore_credit") == 1
    assert alice.balance() == Decimal("24.50")


def test_keeping_twice_is_refused(capture, alice, rita, sam, sue, kim):
    request = reversal_disputed(capture, alice, rita, sam)
    run_on_commit(
        capture, services.keep_reversal, agent=sue, request_id=request.pk, explanation=KEPT
    )
    with pytest.raises(services.RefundError) as refused:
        services.restore_credit(agent=kim, request_id=request.pk, note="Back after all.")
    assert str(refused.value) == services.ALREADY_KEPT
    assert alice.balance() == Decimal("0.00")


def test_the_database_holds_one_restoration_and_only_for_a_restored_dispute(
    capture, alice, rita, sam
):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = request.credit.reversal.dispute
    entry = LedgerEntry.objects.create(pro=alice, kind=LedgerKind.ADJUSTMENT, amount=Decimal("1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReversalDispute.objects.filter(pk=dispute.pk).update(restoration=entry)  # still open
    with pytest.raises(IntegrityError), transaction.atomic():
        ReversalDispute.objects.filter(pk=dispute.pk).update(
            status=DisputeStatus.UPHELD, resolved_at=timezone.now()
        )  # resolved without an answer


def test_an_answer_needs_an_explanation(capture, alice, rita, sam, sue):
    request = reversal_disputed(capture, alice, rita, sam)
    for answer in (services.keep_reversal, services.restore_credit):
        field = "explanation" if answer is services.keep_reversal else "note"
        with pytest.raises(services.RefundError, match="explanation"):
            answer(agent=sue, request_id=request.pk, **{field: "  "})
    assert request.credit.reversal.dispute.is_open


def test_nothing_to_answer_without_a_dispute(capture, alice, rita, sam, sue):
    request = reversed_credit(capture, alice, rita, sam)
    with pytest.raises(services.RefundError, match="has not disputed"):
        services.restore_credit(agent=sue, request_id=request.pk, note="Back.")
    assert not services.allowed_actions(request, sue) & {"keep_reversal", "restore_credit"}


# The audit


def test_the_audit_finds_a_restoration_that_does_not_balance(capture, alice, rita, sam, sue):
    request = reversal_disputed(capture, alice, rita, sam)
    dispute = run_on_commit(
        capture, services.restore_credit, agent=sue, request_id=request.pk, note="Back."
    )
    assert "consistent" in audit()
    LedgerEntry.objects.filter(pk=dispute.restoration_id).update(amount=Decimal("20.00"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    found = out.getvalue()
    assert "restoration $20.00 differs from the reversal $24.50" in found
    assert "ledger shows $20.00 for the restored credit, not $24.50" in found


def test_the_audit_finds_a_restoration_logged_twice(capture, alice, rita, sam, sue):
    request = reversal_disputed(capture, alice, rita, sam)
    run_on_commit(capture, services.restore_credit, agent=sue, request_id=request.pk, note="Ok.")
    RefundEvent.objects.create(
        request=request,
        actor=sue,
        action="restore_credit",
        from_status=Status.CREDITED,
        to_status=Status.CREDITED,
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "restore_credit recorded by 2 events, not 1" in out.getvalue()


# The home and the clock


def test_support_s_home_counts_the_disputed_reversals(capture, client_for, alice, rita, sam):
    reversal_disputed(capture, alice, rita, sam)
    tiles = {
        tile.label: tile
        for section in client_for(sam).get("/admin/").context["sections"]
        for tile in section.tiles
    }
    tile = tiles["Disputed reversals waiting"]
    assert (tile.count, tile.url, tile.level) == (1, LIST, "")
    assert tile.note.startswith("oldest waiting")
    rita_tiles = {
        tile.label
        for section in client_for(rita).get("/admin/").context["sections"]
        for tile in section.tiles
    }
    assert "Disputed reversals waiting" not in rita_tiles


def test_the_sweep_flags_a_late_reversal_dispute_once_and_tells_support(capture, alice, rita, sam):
    request = reversal_disputed(capture, alice, rita, sam)
    mail.outbox.clear()
    later = timezone.now() + timedelta(hours=services.params().dispute_hours + 1)
    assert services.sweep_overdue_disputes(now=later) == [request.pk]
    assert services.sweep_overdue_disputes(now=later) == []
    event = request.events.latest("created_at", "id")
    assert event.action == "dispute_overdue"
    assert "No answer to the dispute of the reversal" in event.note
    [digest] = mail.outbox
    assert "(reversal)" in digest.body
    assert f"/admin/refunds/reversaldispute/{request.credit.reversal.dispute.pk}/change/" in (
        digest.body
    )
    assert "consistent" in audit()
