from django.db import models


class Role(models.TextChoices):
    """The three kinds of people who use the product; each is a Group of the same name."""

    PRO = "pro", "Pro"
    REVIEWER = "reviewer", "Reviewer"
    SUPPORT = "support", "Support"


class LedgerKind(models.TextChoices):
    TOP_UP = "top_up", "Balance top-up"
    LEAD_PURCHASE = "lead_purchase", "Lead purchase"
    REFUND = "refund", "Refund credit"
    ADJUSTMENT = "adjustment", "Adjustment"
