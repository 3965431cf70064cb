from django.db import models


class Scope(models.TextChoices):
    """What an API key may do; each endpoint needs one of these."""

    LEADS_WRITE = "leads:write", "Send leads"
    MESSAGES_WRITE = "messages:write", "Send thread messages"
    ATTEMPTS_WRITE = "attempts:write", "Send contact attempts"
    STATUS_READ = "status:read", "Read refund status"
