from django.db import models


class PaymentMethod(models.TextChoices):
    """How the pro paid for a lead; a refund goes back the same way."""

    BALANCE = "balance", "Prepaid balance"
    CARD = "card", "Card"


class Sender(models.TextChoices):
    PRO = "pro", "Pro"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


class Channel(models.TextChoices):
    """A way of reaching the customer. In-app messaging is always available; phone when given."""

    MESSAGE = "message", "In-app message"
    PHONE = "phone", "Phone call"


class Outcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    ANSWERED = "answered", "Answered"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Left voicemail"
    DISCONNECTED = "disconnected", "Number disconnected"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    BOUNCED = "bounced", "Bounced"


class AttemptSource(models.TextChoices):
    PRO = "pro", "Logged by the pro"
    TELEPHONY = "telephony", "Telephony"
    MESSAGING = "messaging", "Messaging service"
