"""manage.py seed_demo loads every role and every refund state, and a second run adds nothing."""

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from leads.models import Lead
from refunds import services
from refunds.choices import Status
from refunds.models import RefundRequest

pytestmark = pytest.mark.django_db

LOGINS = [
    "pro@demo.test",
    "pro2@demo.test",
    "reviewer@demo.test",
    "reviewer2@demo.test",
    "support@demo.test",
    "admin@demo.test",
]


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("accounts", "leads", "refunds")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def test_a_second_run_changes_nothing(seeded):
    before = row_counts()
    call_command("seed_demo", verbosity=0)
    assert row_counts() == before


def test_every_demo_login_signs_in(seeded):
    for email in LOGINS:
        assert authenticate(email=email, password="demo-password") is not None, email
    assert User.objects.get(email="admin@demo.test").is_superuser
    assert User.objects.get(email="reviewer@demo.test").is_reviewer
    assert User.objects.get(email="support@demo.test").is_support


def test_the_pro_has_leads_of_every_age_and_state(seeded):
    pro = User.objects.get(email="pro@demo.test")
    now = timezone.now()
    ages = sorted((now - lead.received_at).days for lead in Lead.objects.filter(pro=pro))
    assert 0 in ages and 3 in ages and 13 in ages and 20 in ages
    assert not services.reportable(Lead.objects.get(marketplace_id="demo-pro-too-old"), now)
    assert services.reportable(Lead.objects.get(marketplace_id="demo-pro-hired-already"), now)

    statuses = set(RefundRequest.objects.filter(pro=pro).values_list("status", flat=True))
    assert statuses == {Status.SUBMITTED, Status.DENIED, Status.CREDITED}

    three_days = Lead.objects.get(marketplace_id="demo-pro-three-days")
    assert {a.channel for a in three_days.contact_attempts.all()} == {"message", "phone"}
    assert three_days.messages.count() >= 4
    hired = Lead.objects.get(marketplace_id="demo-pro-hired-already")
    assert hired.messages.filter(body__icontains="already hired").exists()


def test_the_denied_request_is_disputable_and_the_credit_was_paid(seeded):
    denied = RefundRequest.objects.get(lead__marketplace_id="demo-pro-denied")
    assert denied.decisions.latest().notice is not None
    assert not hasattr(denied, "dispute")
    credited = RefundRequest.objects.get(lead__marketplace_id="demo-pro-credited")
    assert credited.credit.ledger_entry.amount == credited.lead.price


def test_the_market_has_enough_peers_for_comparison(seeded):
    waiting = RefundRequest.objects.get(lead__marketplace_id="demo-pro-waiting-review")
    peers = waiting.assessment["peers"]
    assert peers["comparable"] is True
    assert peers["auto_deny"] is False
    assert peers["peers"] >= 5
    assert User.objects.get(email="pro2@demo.test").leads.exists()


def test_seeded_contact_details_are_stored_as_the_api_stores_them(seeded):
    """E.164 numbers and lower-case emails, so duplicates match imported leads."""
    leads = Lead.objects.exclude(customer_phone="")
    assert leads.exists()
    for lead in leads:
        assert lead.customer_phone.startswith("+") and lead.customer_phone[1:].isdigit()
        assert lead.phone_valid is True
        assert lead.customer_email == lead.customer_email.lower()


def test_support_finds_one_credit_to_send_again(seeded):
    stuck = list(services.stuck_credits())
    assert len(stuck) == 1
    assert stuck[0].method == "card" and "card issuer" in stuck[0].last_error
    assert stuck[0].request.status == Status.REVIEWED
