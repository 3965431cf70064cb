"""Partial credit: a reviewer (or support, overturning) approves part of the price, and the
decision, the credit, the ledger entry, the card refund, the Inbox and the Credits page all carry
that amount, to the cent.

The rule for a share of an odd-cent price: half a cent is rounded up (25 % of $24.50 is $6.125,
credited as $6.13).
"""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.choices import LedgerKind, Role
from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod
from refunds import policy, services
from refunds.choices import Outcome, Status
from refunds.management.commands.audit_refunds import problems_of
from refunds.models import Credit, CreditTopUp, Decision, RefundRequest, SandboxRefund
from tests.factories import StaffFactory
from tests.refunds.staff_flows import disputed, run_on_commit, submitted

REASON = "The customer did answer once, so half the price is fair."


def approve_part(capture, reviewer, request, **kwargs):
    kwargs.setdefault("reason", REASON)
    return run_on_commit(
        capture, services.approve_part, reviewer=reviewer, request_id=request.pk, **kwargs
    )


def audited(request: RefundRequest) -> list[str]:
    request = (
        RefundRequest.objects.select_related("lead", "credit__ledger_entry", "dispute")
        .prefetch_related("decisions", "events")
        .get(pk=request.pk)
    )
    return list(problems_of(request))


# The rule (refunds/policy)


@pytest.mark.parametrize(
    ("price", "percent", "amount"),
    [
        ("24.50", 50, "12.25"),
        ("24.50", 25, "6.13"),  # 6.125: half a cent up
        ("24.50", 75, "18.38"),  # 18.375
        ("24.51", 50, "12.26"),  # 12.255
        ("24.51", 25, "6.13"),  # 6.1275
        ("0.03", 50, "0.02"),  # 0.015
        ("0.01", 25, "0.00"),  # refused by partial_refusal: nothing to credit
        ("24.50", 100, "24.50"),
    ],
)
def test_a_share_of_the_price_is_rounded_half_up_to_the_cent(price, percent, amount):
    assert policy.share_of_price(Decimal(price), percent) == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "reason", "refusal"),
    [
        ("0.00", REASON, "The amount must be more than $0.00."),
        ("-1.00", REASON, "The amount must be more than $0.00."),
        ("24.51", REASON, "The amount cannot be more than the lead's price, $24.50."),
        ("12.255", REASON, "Give the amount in whole cents."),
        ("12.25", "  ", "Tell the pro why only part of the price is refunded."),
        ("0.01", REASON, ""),
        ("24.49", REASON, ""),
        ("24.50", "", ""),  # the whole price needs no reason
    ],
)
def test_the_policy_allows_more_than_nothing_and_no_more_than_the_price(amount, reason, refusal):
    assert policy.partial_refusal(Decimal(amount), Decimal("24.50"), reason) == refusal


# Approving part


def test_half_of_a_balance_lead_is_decided_credited_and_entered_in_the_ledger(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    decision = approve_part(django_capture_on_commit_callbacks, rita, request, share=50)

    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert decision.outcome == Outcome.APPROVED
    assert decision.amount == Decimal("12.25")
    assert decision.explanation == REASON
    credit = Credit.objects.get(request=request)
    assert credit.amount == Decimal("12.25")
    assert credit.is_partial
    assert credit.ledger_entry.amount == Decimal("12.25")
    assert credit.ledger_entry.kind == LedgerKind.REFUND
    assert alice.balance() == Decimal("12.25")
    events = list(request.events.values_list("action", "note"))
    assert events[1] == ("approve_part", f"$12.25 of $24.50. {REASON}")
    assert events[2] == ("credit_posted", "$12.25 to balance")
    assert audited(request) == []


def test_part_of_a_card_lead_is_refunded_to_the_card_for_that_amount(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice, payment_method=PaymentMethod.CARD, price=Decimal("31.00"))
    approve_part(django_capture_on_commit_callbacks, rita, request, share=25)

    refund = SandboxRefund.objects.get(idempotency_key=f"refund-request-{request.pk}")
    assert refund.amount == Decimal("7.75")
    credit = Credit.objects.get(request=request)
    assert credit.amount == Decimal("7.75")
    assert credit.gateway_reference == f"sbx_{refund.pk}"
    assert not LedgerEntry.objects.filter(pro=alice).exists()
    assert audited(request) == []


def test_a_quarter_of_an_odd_cent_price_is_credited_rounded_half_up(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice, price=Decimal("24.50"))
    approve_part(django_capture_on_commit_callbacks, rita, request, share=25)
    assert Credit.objects.get(request=request).amount == Decimal("6.13")
    assert alice.balance() == Decimal("6.13")


def test_one_cent_is_the_least_that_can_be_approved(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, amount=Decimal("0.01"))
    assert Credit.objects.get(request=request).amount == Decimal("0.01")
    assert alice.balance() == Decimal("0.01")
    assert audited(request) == []


@pytest.mark.parametrize(
    "how", [{"share": 100}, {"amount": Decimal("24.50")}], ids=["100 %", "amount"]
)
def test_the_whole_price_through_the_partial_path_is_a_full_approval(
    alice, rita, django_capture_on_commit_callbacks, how
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, reason="", **how)

    credit = Credit.objects.get(request=request)
    assert credit.amount == Decimal("24.50")
    assert not credit.is_partial
    message = InboxMessage.objects.get(recipient=alice)
    assert message.subject.startswith("Refund approved:")
    assert " of $24.50" not in message.body
    assert "$24.50 has been added to your prepaid balance" in message.body
    assert audited(request) == []


@pytest.mark.parametrize(
    ("kwargs", "refusal"),
    [
        ({"amount": Decimal("0.00")}, "The amount must be more than $0.00."),
        ({"amount": Decimal("-5.00")}, "The amount must be more than $0.00."),
        ({"amount": Decimal("24.51")}, "The amount cannot be more than the lead's price, $24.50."),
        ({"amount": Decimal("3.333")}, "Give the amount in whole cents."),
        ({"share": 0}, "Choose 25 %, 50 %, 75 % or 100 % of the price."),
        ({"share": 30}, "Choose 25 %, 50 %, 75 % or 100 % of the price."),
        ({"share": 50, "reason": ""}, "Tell the pro why only part of the price is refunded."),
        (
            {"share": 50, "amount": Decimal("5.00")},
            "Choose a share of the price or type an amount (one of them).",
        ),
        ({}, "Choose a share of the price or type an amount (one of them)."),
    ],
)
def test_bad_amounts_are_refused_and_change_nothing(
    alice, rita, django_capture_on_commit_callbacks, kwargs, refusal
):
    request = submitted(alice)
    with pytest.raises(services.AmountRefused) as refused:
        approve_part(django_capture_on_commit_callbacks, rita, request, **kwargs)
    assert str(refused.value) == refusal
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert not Decision.objects.filter(request=request).exists()
    assert not Credit.objects.filter(request=request).exists()
    assert list(request.events.values_list("action", flat=True)) == ["submit"]
    assert alice.balance() == 0


def test_only_a_reviewer_approves_part(alice, bob, sam, django_capture_on_commit_callbacks):
    request = submitted(alice)
    for person in (bob, sam):
        with pytest.raises(services.RefundError, match="permission"):
            approve_part(django_capture_on_commit_callbacks, person, request, share=50)
    assert not Decision.objects.filter(request=request).exists()


def test_a_decided_request_cannot_be_approved_in_part_again(
    alice, rita, ralph, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, share=50)
    with pytest.raises(services.RefundError, match="credited and cannot be changed"):
        approve_part(django_capture_on_commit_callbacks, ralph, request, share=75)
    assert Credit.objects.get(request=request).amount == Decimal("12.25")
    assert alice.balance() == Decimal("12.25")


def test_a_partial_approval_can_be_undone_in_its_window(
    alice, rita, settings, django_capture_on_commit_callbacks
):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, share=50)
    services.undo(reviewer=rita, request_id=request.pk)
    assert not Credit.objects.filter(request=request).exists()
    approve_part(django_capture_on_commit_callbacks, rita, request, share=75)
    assert Credit.objects.get(request=request).amount == Decimal("18.38")
    assert audited(request) == []


# What the pro reads


def test_the_inbox_message_says_how_much_of_the_price_and_why(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, share=50)

    message = InboxMessage.objects.get(recipient=alice)
    assert message.subject == f"Refund partly approved: {request.lead.customer_name}"
    assert "We approved part of your refund request." in message.body
    assert "$12.25 of $24.50 has been added to your prepaid balance" in message.body
    assert f"Why part of the price: {REASON}" in message.body
    html = client_for(alice).get(reverse("inbox_message", args=[message.pk])).content.decode()
    assert "$12.25 of $24.50" in html
    assert REASON in html
    (email,) = mail.outbox
    assert "$12.25 of $24.50" in email.body
    assert "$12.25</strong> of $24.50" in email.alternatives[0][0]


def test_the_credits_page_says_how_much_of_the_price_and_why(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    partial_request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, partial_request, share=50)
    whole = submitted(alice)
    run_on_commit(
        django_capture_on_commit_callbacks, services.approve, reviewer=rita, request_id=whole.pk
    )

    html = client_for(alice).get(reverse("credits")).content.decode()
    assert (
        'data-testid="credit-amount">+$12.25 '
        '<span class="fw-normal text-body-secondary">of $24.50</span>' in html
    )
    assert f"Part of the price: {REASON}" in html
    assert 'data-testid="credit-amount">+$24.50</div>' in html
    assert html.count('data-testid="partial-reason"') == 1
    assert 'data-testid="balance">$36.75<' in html


def test_the_credits_page_reads_the_reasons_in_one_query_for_all_credits(
    client_for, alice, rita, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    for _ in range(3):
        approve_part(django_capture_on_commit_callbacks, rita, submitted(alice), share=50)
    client = client_for(alice)
    client.get(reverse("credits"))
    # The page with its standing section (tests/refunds/test_pro_standing.py), whatever the credits.
    with django_assert_max_num_queries(17) as counted:
        client.get(reverse("credits"))
    few = len(counted)
    approve_part(django_capture_on_commit_callbacks, rita, submitted(alice), share=25)
    with django_assert_max_num_queries(few):
        client.get(reverse("credits"))


# Support, overturning a denial


def test_support_may_overturn_a_denial_for_part_of_the_price(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    decision = run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="The first call was answered; half is fair.",
        share=50,
    )
    assert decision.amount == Decimal("12.25")
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert Credit.objects.get(request=request).amount == Decimal("12.25")
    assert alice.balance() == Decimal("12.25")
    notice = InboxMessage.objects.filter(recipient=alice).latest("created_at")
    assert "reversed the earlier decision" in notice.body
    assert "$12.25 of $24.50" in notice.body
    assert "Why part of the price: The first call was answered; half is fair." in notice.body
    assert audited(request) == []


def test_support_overturning_without_a_share_credits_the_whole_price(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="We agree.",
    )
    assert Credit.objects.get(request=request).amount == Decimal("24.50")


def test_support_overturning_for_more_than_the_price_changes_nothing(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    with pytest.raises(services.AmountRefused, match="more than the lead's price"):
        services.overturn(
            agent=sam, request_id=request.pk, note="We agree.", amount=Decimal("30.00")
        )
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    assert not Credit.objects.filter(request=request).exists()


# The audit


def test_audit_refunds_balances_with_partial_credits(
    alice, rita, django_capture_on_commit_callbacks
):
    approve_part(django_capture_on_commit_callbacks, rita, submitted(alice), share=25)
    approve_part(django_capture_on_commit_callbacks, rita, submitted(alice), amount=Decimal("0.01"))
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "All 2 refund requests are consistent." in out.getvalue()


def test_audit_refunds_finds_a_credit_that_differs_from_its_approval(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, share=50)
    credit = Credit.objects.get(request=request)
    Credit.objects.filter(pk=credit.pk).update(amount=Decimal("24.50"))
    LedgerEntry.objects.filter(pk=credit.ledger_entry_id).update(amount=Decimal("24.50"))
    assert audited(request) == ["credit $24.50 differs from the approved amount $12.25"]
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=StringIO())


def test_audit_refunds_finds_a_credit_above_the_price_and_an_approval_without_an_amount(
    alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    approve_part(django_capture_on_commit_callbacks, rita, request, share=50)
    Decision.objects.filter(request=request).update(amount=None)
    Credit.objects.filter(request=request).update(amount=Decimal("30.00"))
    problems = audited(request)
    assert f"approval {Decision.objects.get(request=request).pk} records no amount" in problems
    assert "credit $30.00 is not between $0.00 and the price $24.50" in problems
    assert "ledger entry does not match the credit" in problems


# The request page's panel


def page_of(request) -> str:
    return reverse("admin:refunds_refundrequest_change", args=[request.pk])


def dispute_page_of(request) -> str:
    return reverse("admin:refunds_dispute_change", args=[request.dispute.pk])


def test_the_page_offers_part_beside_approve_which_keeps_its_key(client_for, alice, rita):
    html = client_for(rita).get(page_of(submitted(alice))).text
    approve = html.index('value="approve"><button type="submit" class="rq-btn rq-btn--approve" ')
    assert 'data-key="a" aria-keyshortcuts="a">Approve · credit $24.50</button>' in html
    part = html.index('<summary class="rq-btn rq-btn--approve">Approve part…</summary>')
    assert approve < part < html.index(">Deny…</summary>")
    assert html.count('data-key="a"') == 1
    for label in ("25 %", "50 %", "75 %", "100 %", "Another amount"):
        assert f" {label}</label>" in html, label
    assert "Why part of the price (the pro reads this)" in html


def test_a_reviewer_approves_half_from_the_page(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).post(
            page_of(request),
            {
                "transition": "approve_part",
                "approve_part-share": "50",
                "approve_part-reason": REASON,
            },
            follow=True,
        )
    assert f"Approved $12.25 of $24.50 on request #{request.pk}" in response.text
    assert Credit.objects.get(request=request).amount == Decimal("12.25")
    assert alice.balance() == Decimal("12.25")


def test_a_reviewer_types_an_amount_from_the_page(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(rita).post(
            page_of(request),
            {
                "transition": "approve_part",
                "approve_part-share": "amount",
                "approve_part-amount": "10.05",
                "approve_part-reason": REASON,
            },
        )
    assert Credit.objects.get(request=request).amount == Decimal("10.05")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"share": "amount", "amount": "0"}, "The amount must be more than $0.00."),
        ({"share": "amount", "amount": "-3"}, "The amount must be more than $0.00."),
        ({"share": "amount", "amount": "1.005"}, "Give the amount in whole cents."),
        ({"share": "amount", "amount": "24.51"}, "more than the lead&#x27;s price, $24.50."),
        ({"share": "amount", "amount": ""}, "Type the amount to credit."),
        ({"share": "0"}, "Select a valid choice. 0 is not one of the available choices."),
        ({}, "Choose how much of the price to credit."),
        ({"share": "50", "amount": "5"}, "Choose “Another amount” to credit an amount you type."),
        ({"share": "50", "reason": " "}, "Tell the pro why only part of the price is refunded."),
    ],
)
def test_bad_input_on_the_panel_is_said_there_and_changes_nothing(
    client_for, alice, rita, fields, says
):
    request = submitted(alice)
    data = {"transition": "approve_part", "approve_part-reason": REASON}
    data.update({f"approve_part-{name}": value for name, value in fields.items()})
    response = client_for(rita).post(page_of(request), data)
    assert response.status_code == 400
    html = response.text
    assert says in html
    # The panel is open again, with what was typed.
    assert '<details class="rq-pop" open>' in html
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert not Decision.objects.filter(request=request).exists()
    assert not Credit.objects.filter(request=request).exists()


def test_support_overturns_for_a_quarter_from_the_disputes_page(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed(django_capture_on_commit_callbacks, alice, rita)
    client = client_for(sam)
    html = client.get(dispute_page_of(request)).text
    assert 'value="100" id="id_overturn-share_3" checked>\n 100 %</label>' in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            dispute_page_of(request),
            {
                "transition": "overturn",
                "overturn-share": "25",
                "overturn-note": "A quarter: the first call went through.",
            },
        )
    assert Credit.objects.get(request=request).amount == Decimal("6.13")
    request.refresh_from_db()
    assert request.status == Status.CREDITED


# The pro disputes a partial credit; support tops it up or keeps it


def partly_credited(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    request = submitted(pro, **lead_kwargs)
    approve_part(capture, reviewer, request, share=50)
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    return request


def disputed_part(capture, pro, reviewer, **lead_kwargs) -> RefundRequest:
    request = partly_credited(capture, pro, reviewer, **lead_kwargs)
    services.open_dispute(pro=pro, request_id=request.pk, message="The number never worked.")
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    return request


def test_the_pro_disputes_a_partial_credit_from_its_inbox_message(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = partly_credited(django_capture_on_commit_callbacks, alice, rita)
    message = InboxMessage.objects.get(recipient=alice)
    assert "dispute the decision from this message in your Inbox" in message.body
    client = client_for(alice)
    html = client.get(reverse("inbox_message", args=[message.pk])).text
    assert "Reply to dispute" in html
    response = client.post(
        reverse("dispute", args=[message.pk]),
        {"message": "The phone number never worked: the whole price, please."},
        follow=True,
    )
    assert "support will look at your request again" in response.text
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    assert Credit.objects.get(request=request).is_posted  # what was paid stays paid
    assert alice.balance() == Decimal("12.25")
    assert audited(request) == []


def test_a_credit_of_the_whole_price_cannot_be_disputed(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    request = submitted(alice)
    run_on_commit(
        django_capture_on_commit_callbacks, services.approve, reviewer=rita, request_id=request.pk
    )
    message = InboxMessage.objects.get(recipient=alice)
    assert (
        "Reply to dispute"
        not in client_for(alice).get(reverse("inbox_message", args=[message.pk])).text
    )
    with pytest.raises(services.RefundError, match="Only a denial or a credit of part"):
        services.open_dispute(pro=alice, request_id=request.pk, message="More, please.")
    request.refresh_from_db()
    assert request.status == Status.CREDITED


def test_support_overturning_a_partial_credit_tops_it_up_to_the_price(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    decision = run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="You are right: the number was never the customer's.",
    )
    assert decision.amount == Decimal("24.50")
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    credit = Credit.objects.get(request=request)  # still one credit per request
    assert credit.amount == Decimal("12.25")
    assert credit.top_up.amount == Decimal("12.25")
    assert credit.top_up.is_posted
    assert credit.total == Decimal("24.50")
    refunds = LedgerEntry.objects.filter(pro=alice, kind=LedgerKind.REFUND).order_by("id")
    assert [e.amount for e in refunds] == [Decimal("12.25"), Decimal("12.25")]
    assert alice.balance() == Decimal("24.50")
    notice = InboxMessage.objects.filter(recipient=alice).latest("created_at")
    assert notice.subject.startswith("Refund approved:")
    assert "$12.25 more has been added to your prepaid balance" in notice.body
    assert "In all you are refunded $24.50 of $24.50." in notice.body
    emailed = mail.outbox[-1]
    assert "In all you are refunded $24.50 of $24.50." in emailed.body
    assert '<strong style="font-size:18px;">$24.50</strong><br>' in emailed.alternatives[0][0]
    assert list(request.events.values_list("action", flat=True)) == [
        "submit",
        "approve_part",
        "credit_posted",
        "dispute",
        "overturn",
        "credit_posted",
    ]
    assert audited(request) == []
    html = client_for(alice).get(reverse("credits")).text
    assert 'data-testid="credit-amount">+$24.50</div>' in html
    assert "Part of the price" not in html
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "All 1 refund requests are consistent." in out.getvalue()


def test_a_card_top_up_is_its_own_refund_at_the_gateway(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(
        django_capture_on_commit_callbacks, alice, rita, payment_method=PaymentMethod.CARD
    )
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="Agreed.",
    )
    first = SandboxRefund.objects.get(idempotency_key=f"refund-request-{request.pk}")
    rest = SandboxRefund.objects.get(idempotency_key=f"refund-request-{request.pk}-top-up")
    assert (first.amount, rest.amount) == (Decimal("12.25"), Decimal("12.25"))
    assert Credit.objects.get(request=request).top_up.gateway_reference == f"sbx_{rest.pk}"
    # Running the task again pays nothing more.
    services.post_top_up(Credit.objects.get(request=request).top_up.pk)
    assert SandboxRefund.objects.count() == 2
    assert audited(request) == []


def test_support_may_top_up_to_less_than_the_price(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="Three quarters: one call did reach the customer.",
        share=75,
    )
    credit = Credit.objects.get(request=request)
    assert credit.top_up.amount == Decimal("6.13")  # 18.38 in all, less the 12.25 paid
    assert credit.total == Decimal("18.38")
    assert alice.balance() == Decimal("18.38")
    notice = InboxMessage.objects.filter(recipient=alice).latest("created_at")
    assert "Refund partly approved" in notice.subject
    assert "In all you are refunded $18.38 of $24.50." in notice.body
    assert "Why part of the price: Three quarters" in notice.body
    assert audited(request) == []


@pytest.mark.parametrize("kwargs", [{"share": 50}, {"amount": Decimal("10.00")}])
def test_an_overturn_that_pays_no_more_than_was_paid_is_refused(
    alice, rita, sam, django_capture_on_commit_callbacks, kwargs
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    with pytest.raises(services.AmountRefused, match="already been paid \\$12.25"):
        services.overturn(agent=sam, request_id=request.pk, note="Hm.", **kwargs)
    request.refresh_from_db()
    assert request.status == Status.DISPUTED
    assert not hasattr(Credit.objects.get(request=request), "top_up")
    assert alice.balance() == Decimal("12.25")


def test_support_upholding_a_partial_credit_keeps_it_and_tells_the_pro(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    decision = run_on_commit(
        django_capture_on_commit_callbacks,
        services.uphold,
        agent=sam,
        request_id=request.pk,
        explanation="The customer did answer your first call.",
        guidance="Report a lead only when you could not reach the customer.",
    )
    assert decision.outcome == Outcome.APPROVED
    assert decision.amount == Decimal("12.25")
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert alice.balance() == Decimal("12.25")
    assert not hasattr(Credit.objects.get(request=request), "top_up")
    notice = InboxMessage.objects.filter(recipient=alice).latest("created_at")
    assert notice.subject.startswith("Dispute reviewed: partial refund kept")
    assert "you are refunded $12.25 of $24.50" in notice.body
    assert "This decision is final." in notice.body
    assert (
        "Reply to dispute"
        not in client_for(alice).get(reverse("inbox_message", args=[notice.pk])).text
    )
    assert list(request.events.values_list("action", flat=True))[-2:] == ["uphold", "credit_kept"]
    assert audited(request) == []
    with pytest.raises(services.RefundError, match="already disputed"):
        services.open_dispute(pro=alice, request_id=request.pk, message="Again.")


def test_the_decider_of_the_part_does_not_resolve_its_dispute(
    alice, django_capture_on_commit_callbacks
):
    both = StaffFactory(email="both@example.test", roles=[Role.REVIEWER, Role.SUPPORT])
    request = disputed_part(django_capture_on_commit_callbacks, alice, both)
    with pytest.raises(services.RefundError, match="another member of support"):
        services.overturn(agent=both, request_id=request.pk, note="Mine.")
    with pytest.raises(services.RefundError, match="another member of support"):
        services.uphold(agent=both, request_id=request.pk, explanation="x", guidance="y")


def test_a_top_up_left_waiting_is_sent_again_by_the_sweep(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    services.overturn(agent=sam, request_id=request.pk, note="Agreed.")  # the worker never ran
    top_up = Credit.objects.get(request=request).top_up
    assert not top_up.is_posted
    with django_capture_on_commit_callbacks(execute=True):
        resumed = services.resume_stuck(now=timezone.now() + timedelta(hours=1))
    assert resumed["top_ups"] == [top_up.pk]
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert alice.balance() == Decimal("24.50")


def test_audit_refunds_finds_a_top_up_that_does_not_add_up(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    run_on_commit(
        django_capture_on_commit_callbacks,
        services.overturn,
        agent=sam,
        request_id=request.pk,
        note="Agreed.",
    )
    top_up = Credit.objects.get(request=request).top_up
    type(top_up).objects.filter(pk=top_up.pk).update(amount=Decimal("13.25"))
    problems = audited(request)
    assert "credit $25.50 is not between $0.00 and the price $24.50" in problems
    assert "credit $25.50 differs from the approved amount $24.50" in problems
    assert "ledger entry does not match the top-up" in problems


def test_support_sees_the_disputed_part_and_tops_it_up_from_the_disputes_page(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    client = client_for(sam)
    listing = client.get(reverse("admin:refunds_dispute_changelist")).text
    assert "Approved: $12.25 of $24.50" in listing
    page = client.get(dispute_page_of(request)).text
    assert "Decision disputed:</strong> Approved ($12.25 of $24.50) by" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            dispute_page_of(request),
            {"transition": "overturn", "overturn-share": "100", "overturn-note": "Agreed."},
        )
    assert response.status_code == 302
    assert Credit.objects.get(request=request).total == Decimal("24.50")
    assert alice.balance() == Decimal("24.50")
    # Asking for no more than was paid says so in the panel.
    other = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    response = client.post(
        dispute_page_of(other),
        {"transition": "overturn", "overturn-share": "25", "overturn-note": "A quarter."},
    )
    assert response.status_code == 400
    assert "The pro has already been paid $12.25" in response.text


def test_a_top_up_given_up_on_waits_for_support_who_sends_it_again(
    alice, rita, sam, settings, django_capture_on_commit_callbacks
):
    request = disputed_part(django_capture_on_commit_callbacks, alice, rita)
    services.overturn(agent=sam, request_id=request.pk, note="Agreed.")  # the worker never ran
    credit = Credit.objects.get(request=request)
    CreditTopUp.objects.filter(credit=credit).update(
        attempts=settings.CREDIT_MAX_ATTEMPTS, last_error="GatewayError: timed out"
    )
    assert list(services.stuck_credits()) == [credit]
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_credit(agent=sam, credit_id=credit.pk)
    assert list(services.stuck_credits()) == []
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert alice.balance() == Decimal("24.50")
    retried = request.events.get(action="credit_retried")
    assert retried.note == (
        f"The top-up was sent to the payment provider again after "
        f"{settings.CREDIT_MAX_ATTEMPTS} failed attempts. Last error: GatewayError: timed out"
    )
    assert audited(request) == []
