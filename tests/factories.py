"""factory_boy factories for every model the tests build."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.choices import Role
from accounts.models import InboxMessage, LedgerEntry, Market, ProProfile, ServiceCategory, User
from leads.choices import Channel, Outcome, PaymentMethod, Sender
from leads.models import ContactAttempt, Lead, Message
from refunds import policy
from refunds.choices import Reason
from refunds.models import RefundRequest

PASSWORD = "correct-horse-battery"


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("name",)

    name = "Austin, TX"


class ServiceCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("slug",)

    name = "Plumbing"
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get(name=Role(role).value))
        if create:
            self.save()


class ProFactory(UserFactory):
    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=Role.PRO.value))
            self.save()

    profile = factory.RelatedFactory(
        "tests.factories.ProProfileFactory", factory_related_name="user"
    )


class StaffFactory(UserFactory):
    is_staff = True


class ProProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    business_name = factory.Sequence(lambda n: f"Pro Services {n}")
    market = factory.SubFactory(MarketFactory)
    service_area = "Austin, 78701, 78702, 78704"

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create:
            self.categories.set(extracted or [ServiceCategoryFactory()])


def _offered_category(pro) -> ServiceCategory:
    profile = getattr(pro, "pro_profile", None)
    offered = profile.categories.first() if profile is not None else None
    return offered or ServiceCategoryFactory()


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    marketplace_id = factory.Sequence(lambda n: f"lead-{n}")
    pro = factory.SubFactory(ProFactory)
    customer_name = factory.Sequence(lambda n: f"Customer {n}")
    customer_phone = "+1 512 555 0134"
    customer_email = factory.Sequence(lambda n: f"customer{n}@example.test")
    # A job the pro offers, as the marketplace matches them; pass category= for one they do not.
    category = factory.LazyAttribute(lambda o: _offered_category(o.pro))
    location = "Austin, TX 78704"
    request_text = "Kitchen sink is leaking under the cabinet."
    price = Decimal("24.50")
    payment_method = PaymentMethod.BALANCE
    received_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    lead = factory.SubFactory(LeadFactory)
    sender = Sender.PRO
    body = "Hi! I can come by tomorrow morning to take a look."
    sent_at = factory.LazyAttribute(lambda o: o.lead.received_at + timedelta(minutes=10))


class ContactAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactAttempt

    lead = factory.SubFactory(LeadFactory)
    channel = Channel.MESSAGE
    outcome = Outcome.DELIVERED
    attempted_at = factory.LazyAttribute(lambda o: o.lead.received_at + timedelta(minutes=10))


class RefundRequestFactory(factory.django.DjangoModelFactory):
    """A request stored directly in a given state; tests of behaviour go through services."""

    class Meta:
        model = RefundRequest

    lead = factory.SubFactory(LeadFactory)
    pro = factory.LazyAttribute(lambda o: o.lead.pro)
    market = factory.LazyAttribute(
        lambda o: o.pro.pro_profile.market if hasattr(o.pro, "pro_profile") else None
    )
    reason = Reason.WRONG_JOB
    details = "They wanted a roof repaired; I only do plumbing."
    submitted_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.submitted_at + timedelta(hours=24))


def assessment_json(peers: dict | None = None, **changes) -> dict:
    """A whole stored assessment (policy.assess on plain facts), with some fields changed."""
    received = timezone.now() - timedelta(days=3)
    data = policy.assess(
        reason=Reason.WRONG_JOB,
        received_at=received,
        now=received + timedelta(days=1),
        attempts=[],
        available_channels={Channel.MESSAGE},
        pro_requests=1,
        pro_leads=1,
        peer_rates=[],
        duplicate_lead_ids=[],
        phone="",
        email="",
        category_offered=True,
        in_service_area=True,
        first_response_at=None,
        params=policy.Params(),
    ).as_json()
    data["peers"].update(peers or {})
    return {**data, **changes}


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerEntry

    pro = factory.SubFactory(ProFactory)
    kind = "top_up"
    amount = Decimal("100.00")


class InboxMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboxMessage

    recipient = factory.SubFactory(ProFactory)
    subject = "Welcome"
    body = "Hello from the team."
