"""manage.py generate_load: a consistent, repeatable data set of the requested size."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead, Message
from refunds.choices import Status
from refunds.models import RefundRequest

pytestmark = pytest.mark.django_db(transaction=True)


def generate(leads: int, seed: int = 7) -> None:
    call_command("generate_load", leads=leads, seed=seed, quiet=True, stdout=StringIO())


def test_it_creates_the_leads_threads_and_reports_asked_for():
    generate(1_000)
    assert Lead.objects.count() == 1_000
    messages = Message.objects.count()
    assert 5_000 < messages < 12_000  # about eight a thread
    reported = RefundRequest.objects.count()
    assert 40 < reported < 200  # about 8%, plus high-rate pros
    states = set(RefundRequest.objects.values_list("status", flat=True))
    assert {Status.SUBMITTED, Status.CREDITED, Status.DENIED} <= states
    assert RefundRequest.objects.filter(lead__messages__isnull=False).exists()


def test_the_data_passes_the_consistency_audit():
    generate(1_000)
    out = StringIO()
    call_command("audit_refunds", stdout=out)
    assert "are consistent" in out.getvalue()


def fingerprint(leads) -> list[tuple]:
    return [
        (
            lead.customer_name,
            lead.price,
            lead.payment_method,
            lead.messages.count(),
            getattr(getattr(lead, "refund_request", None), "status", None),
        )
        for lead in leads
    ]


def test_the_same_seed_gives_the_same_data():
    generate(300, seed=3)
    generate(300, seed=3)  # appended after the first set, from the same random sequence
    leads = list(Lead.objects.order_by("pk").select_related("refund_request"))
    assert len(leads) == 600
    assert fingerprint(leads[:300]) == fingerprint(leads[300:])


def test_it_refuses_a_size_too_small():
    with pytest.raises(CommandError, match="at least 100"):
        generate(10)
