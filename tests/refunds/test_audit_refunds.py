"""manage.py audit_refunds: silent and zero on consistent data, loud and non-zero otherwise."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import LedgerEntry
from refunds import services
from refunds.choices import Reason
from refunds.models import Credit, RefundEvent, RefundRequest

pytestmark = pytest.mark.django_db


def audit() -> str:
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    return out.getvalue()


@pytest.fixture
def credited(alice, lead, rita, django_capture_on_commit_callbacks) -> RefundRequest:
    with django_capture_on_commit_callbacks(execute=True):
        request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    return request


def test_the_demo_data_is_consistent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert "are consistent" in audit()


def test_a_credited_request_through_the_services_is_consistent(credited):
    assert credited.status == "credited"
    assert "All 1 refund requests are consistent." in audit()


def test_it_finds_a_credit_that_differs_from_the_price(credited):
    Credit.objects.filter(request=credited).update(amount=Decimal("1.00"))
    with pytest.raises(CommandError, match="1 of 1 refund requests are inconsistent"):
        audit()


def test_it_finds_a_ledger_entry_that_does_not_match(credited):
    LedgerEntry.objects.filter(credit__request=credited).update(amount=Decimal("99.00"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "ledger entry does not match the credit" in out.getvalue()


def test_it_finds_a_state_the_event_log_does_not_explain(credited):
    # Events cannot be removed (on PostgreSQL not even by a query), but one can be added.
    RefundEvent.objects.create(
        request=credited, action="withdraw", from_status="credited", to_status="withdrawn"
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "last event ends in withdrawn, request is credited" in out.getvalue()


def test_it_finds_a_step_no_transition_makes(credited):
    # The chain holds together, but a credited request cannot be withdrawn.
    RefundRequest.objects.filter(pk=credited.pk).update(status="withdrawn")
    event = RefundEvent.objects.create(
        request=credited, action="withdraw", from_status="credited", to_status="withdrawn"
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert f"event {event.pk} (withdraw) moves credited to withdrawn, which no transition does" in (
        out.getvalue()
    )


def test_it_finds_an_approval_without_a_credit(alice, lead, rita):
    # Side effects never run here, and the credit row is removed behind the services' back.
    request = services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    services.approve(reviewer=rita, request_id=request.pk)
    Credit.objects.filter(request=request).delete()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_refunds", stdout=out)
    assert "was approved but has no credit" in out.getvalue()
