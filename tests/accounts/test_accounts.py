"""Users sign in with their email; roles are groups carrying exactly their permissions."""

from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from accounts.choices import LedgerKind
from accounts.models import User
from tests.factories import LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_signs_in_with_email_and_password(alice, password):
    assert authenticate(email="alice@example.test", password=password) == alice
    assert authenticate(email="alice@example.test", password="wrong") is None


def test_email_is_unique_whatever_the_case(db):
    User.objects.create_user("Carol@Example.test", "pw-123456789")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("carol@example.test", "pw-123456789")


def test_superuser_is_staff(db):
    admin = User.objects.create_superuser("boss@example.test", "pw-123456789")
    assert admin.is_staff and admin.is_superuser


def test_the_three_roles_exist_as_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"pro", "reviewer", "support"}


def test_pros_get_no_back_office_permissions(alice):
    assert alice.is_pro and not alice.is_staff
    assert alice.get_all_permissions() == set()


def test_reviewers_decide_but_do_not_resolve_disputes(rita):
    assert rita.is_reviewer
    assert rita.has_perm("refunds.decide_refundrequest")
    assert rita.has_perm("refunds.view_refundrequest")
    assert rita.has_perm("leads.view_message")
    assert rita.has_perm("refunds.change_denialtemplate")
    assert not rita.has_perm("refunds.resolve_dispute")
    assert not rita.has_perm("refunds.change_refundrequest")
    assert not rita.has_perm("accounts.view_ledgerentry")


def test_support_resolves_disputes_but_does_not_decide_requests(sam):
    assert sam.is_support
    assert sam.has_perm("refunds.resolve_dispute")
    assert sam.has_perm("refunds.view_dispute")
    assert sam.has_perm("accounts.view_ledgerentry")
    assert not sam.has_perm("refunds.decide_refundrequest")
    assert not sam.has_perm("refunds.delete_refundevent")


def test_balance_is_the_sum_of_the_ledger(alice):
    assert alice.balance() == Decimal("0.00")
    LedgerEntryFactory(pro=alice, kind=LedgerKind.TOP_UP, amount=Decimal("100.00"))
    LedgerEntryFactory(pro=alice, kind=LedgerKind.LEAD_PURCHASE, amount=Decimal("-24.50"))
    LedgerEntryFactory(pro=alice, kind=LedgerKind.REFUND, amount=Decimal("24.50"))
    LedgerEntryFactory(pro=UserFactory(), amount=Decimal("999.00"))
    assert alice.balance() == Decimal("100.00")


def test_service_area_matches_locations(alice):
    profile = alice.pro_profile
    assert profile.serves_location("Austin, TX 78704")
    assert not profile.serves_location("Dallas, TX 75201")
