from django.db import models


class Reason(models.TextChoices):
    """The closed list of reasons a lead can be refunded for."""

    WRONG_JOB = "wrong_job", "Wrong job type"
    INVALID_CONTACT = "invalid_contact", "Invalid or fake contact info"
    DUPLICATE = "duplicate", "Duplicate lead"
    HIRED_BEFORE_CONTACT = "hired_before_contact", "Customer hired someone before I reached them"
    SPAM = "spam", "Spam, fraud or abuse"


REASON_HELP = {
    Reason.WRONG_JOB: "The customer asked for a kind of work you do not offer.",
    Reason.INVALID_CONTACT: "The phone number or email does not work or is not the customer's.",
    Reason.DUPLICATE: "You were sold the same request from this customer already.",
    Reason.HIRED_BEFORE_CONTACT: "The customer had hired a pro before you could reach them.",
    Reason.SPAM: "The request is fake, a scam, advertising or abusive.",
}

# For these reasons there is nobody genuine to reach, so contact effort does not matter.
REASONS_WITHOUT_CONTACT_EFFORT = frozenset({Reason.DUPLICATE, Reason.SPAM})


class Status(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    REVIEWED = "reviewed", "Reviewed"
    CREDITED = "credited", "Credited"
    DENIED = "denied", "Denied"
    DISPUTED = "disputed", "Disputed"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW)

# Bootstrap colour of each status badge.
STATUS_COLOURS = {
    Status.SUBMITTED: "primary",
    Status.IN_REVIEW: "info",
    Status.REVIEWED: "secondary",
    Status.CREDITED: "success",
    Status.DENIED: "danger",
    Status.DISPUTED: "warning",
    Status.WITHDRAWN: "light",
}


class Outcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


class DecisionKind(models.TextChoices):
    REVIEW = "review", "Review"
    AUTOMATIC = "automatic", "Automatic denial (peer refund rate)"
    AUTO_APPROVAL = "auto_approval", "Automatic approval (rule)"
    DISPUTE = "dispute", "Dispute resolution"


class CreditStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    OVERTURNED = "overturned", "Overturned"
    UPHELD = "upheld", "Upheld"
