from decimal import Decimal

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Sum
from django.utils import timezone

from accounts.choices import LedgerKind, Role
from accounts.money import CURRENCY_OF_COUNTRY, currency_of_country, money_change
from accounts.timezones import validate_time_zone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """Anyone who signs in: pros on the web pages, reviewers and support in the admin.

    The email address is the login; roles are groups (see accounts.choices.Role).
    """

    username = None
    email = models.EmailField(
        verbose_name="email address",
        unique=True,
    )

    time_zone = models.CharField(
        verbose_name="time zone",
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Staff: the IANA zone times are shown in (empty: the site's). Pros see their "
        "market's zone.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return self.email

    def has_role(self, role: Role) -> bool:
        # Cached per instance: templates and views ask several times per request.
        if not hasattr(self, "_role_names"):
            self._role_names = set(self.groups.values_list("name", flat=True))
        return role.value in self._role_names

    @property
    def is_pro(self) -> bool:
        return self.has_role(Role.PRO)

    @property
    def is_reviewer(self) -> bool:
        return self.has_role(Role.REVIEWER)

    @property
    def is_support(self) -> bool:
        return self.has_role(Role.SUPPORT)

    @property
    def display_name(self) -> str:
        profile = getattr(self, "pro_profile", None)
        if profile is not None:
            return profile.business_name
        return self.get_full_name() or self.email

    def balance(self) -> Decimal:
        """The prepaid balance: the sum of the ledger, never a stored number."""
        total = self.ledger_entries.aggregate(total=Sum("amount"))["total"]
        return total if total is not None else Decimal("0.00")


class Market(models.Model):
    """A geographic market; pros in the same market are each other's peers."""

    name = models.CharField(
        verbose_name="name",
        max_length=100,
        unique=True,
    )
    country_code = models.CharField(
        verbose_name="country code",
        max_length=2,
        default="US",
        help_text="ISO 3166 code, the default region for phone numbers.",
    )
    time_zone = models.CharField(
        verbose_name="time zone",
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA name, such as America/Chicago: pros here read every time in it.",
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.country_code.upper() not in CURRENCY_OF_COUNTRY:
            raise ValidationError(
                {
                    "country_code": "Prices here can only be written for markets in "
                    f"{', '.join(sorted(CURRENCY_OF_COUNTRY))} so far."
                }
            )

    @property
    def currency(self) -> str:
        """The ISO 4217 code of the money its pros pay and are refunded in."""
        return currency_of_country(self.country_code)


class ServiceCategory(models.Model):
    """A kind of job a lead can be about and a pro can offer (plumbing, house cleaning…)."""

    name = models.CharField(
        verbose_name="name",
        max_length=100,
        unique=True,
    )
    slug = models.SlugField(
        verbose_name="slug",
        unique=True,
    )

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "service categories"

    def __str__(self) -> str:
        return self.name


class ProProfile(models.Model):
    """What a pro sells and where: the facts a lead is matched against."""

    user = models.OneToOneField(
        User,
        verbose_name="user",
        on_delete=models.CASCADE,
        related_name="pro_profile",
    )
    business_name = models.CharField(
        verbose_name="business name",
        max_length=150,
    )
    market = models.ForeignKey(
        Market,
        verbose_name="market",
        on_delete=models.PROTECT,
        related_name="pros",
    )
    categories = models.ManyToManyField(
        ServiceCategory,
        verbose_name="categories offered",
        related_name="pros",
        blank=True,
    )
    service_area = models.CharField(
        verbose_name="service area",
        max_length=500,
        blank=True,
        help_text="Postal codes or towns served, separated by commas.",
    )

    class Meta:
        ordering = ("business_name",)

    def __str__(self) -> str:
        return self.business_name

    def serves_location(self, location: str) -> bool:
        """Whether a lead's location falls within the service area (any listed place in it)."""
        places = [p.strip().lower() for p in self.service_area.split(",") if p.strip()]
        text = location.lower()
        return any(place in text for place in places)


class LedgerEntry(models.Model):
    """One movement of a pro's prepaid balance; the balance is their sum.

    Entries are never edited: a correction is a new entry.
    """

    pro = models.ForeignKey(
        User,
        verbose_name="pro",
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    kind = models.CharField(
        verbose_name="kind",
        max_length=20,
        choices=LedgerKind.choices,
    )
    amount = models.DecimalField(
        verbose_name="amount",
        max_digits=10,
        decimal_places=2,
        help_text="Positive adds to the balance, negative takes from it.",
    )
    memo = models.CharField(
        verbose_name="memo",
        max_length=200,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name="created at",
        default=timezone.now,
    )

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["pro", "-created_at"], name="ledger_pro_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {money_change(self.amount)} ({self.pro})"


class InboxMessage(models.Model):
    """A message to a pro in their Inbox: decisions, dispute outcomes, notices."""

    recipient = models.ForeignKey(
        User,
        verbose_name="recipient",
        on_delete=models.CASCADE,
        related_name="inbox_messages",
    )
    subject = models.CharField(
        verbose_name="subject",
        max_length=200,
    )
    body = models.TextField(
        verbose_name="body",
    )
    created_at = models.DateTimeField(
        verbose_name="created at",
        default=timezone.now,
    )
    read_at = models.DateTimeField(
        verbose_name="read at",
        null=True,
        blank=True,
    )
    emailed_at = models.DateTimeField(
        verbose_name="emailed at",
        null=True,
        blank=True,
        help_text="When the email copy went out; empty when none was sent.",
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="inbox_recipient_created"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
