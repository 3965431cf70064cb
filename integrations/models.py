import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.choices import Scope

KEY_PREFIX = "lrk_"
# Writing last_used_at on every call would make each request a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A secret one integration (the marketplace, telephony…) sends with every API call.

    Only a hash is stored: the key itself is shown once, when it is created in the admin.
    A revoked key stays listed, so the admin keeps a record of who could call the API.
    """

    name = models.CharField(
        verbose_name="integration",
        max_length=100,
        help_text="Who uses this key, e.g. “Marketplace lead feed”.",
    )
    prefix = models.CharField(
        verbose_name="key starts with",
        max_length=16,
        editable=False,
    )
    key_hash = models.CharField(
        verbose_name="key hash (SHA-256)",
        max_length=64,
        unique=True,
        editable=False,
    )
    scopes = models.JSONField(
        verbose_name="allowed operations",
        default=list,
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name="created at",
        default=timezone.now,
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="created by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_used_at = models.DateTimeField(
        verbose_name="last used at",
        null=True,
        blank=True,
        editable=False,
    )
    revoked_at = models.DateTimeField(
        verbose_name="revoked at",
        null=True,
        blank=True,
        editable=False,
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ("name", "-created_at")
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str, scopes: list[str], created_by=None) -> tuple["ApiKey", str]:
        """Create a key; returns it with the raw secret, which is not stored anywhere."""
        key = cls(name=name, scopes=sorted(scopes), created_by=created_by)
        raw = key.set_secret()
        key.save()
        return key, raw

    def set_secret(self) -> str:
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix = raw[: len(KEY_PREFIX) + 6]
        self.key_hash = hash_key(raw)
        return raw

    @classmethod
    def find(cls, raw_key: str) -> "ApiKey | None":
        """The active key matching a secret sent by a caller, or None."""
        if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
            return None
        return cls.objects.active().filter(key_hash=hash_key(raw_key)).first()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope | str) -> bool:
        return self.is_active and str(scope) in self.scopes

    def revoke(self, now=None) -> None:
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            self.save(update_fields=("revoked_at",))

    def touch(self, now=None) -> None:
        now = now or timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            self.last_used_at = now
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)


class ProLink(models.Model):
    """Which of our pros a marketplace pro id means.

    Made in the admin, or on the first lead that names both the marketplace id and the pro's
    login email; from then on the id alone finds the pro, whatever happens to the email.
    """

    pro = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="pro",
        on_delete=models.CASCADE,
        related_name="marketplace_link",
        limit_choices_to={"pro_profile__isnull": False},
    )
    marketplace_pro_id = models.CharField(
        verbose_name="marketplace pro id",
        max_length=64,
        unique=True,
    )
    linked_at = models.DateTimeField(
        verbose_name="linked at",
        default=timezone.now,
        editable=False,
    )

    class Meta:
        ordering = ("marketplace_pro_id",)
        verbose_name = "marketplace pro link"

    def __str__(self) -> str:
        return f"{self.marketplace_pro_id} → {self.pro}"
