from django.db import models


class EventType(models.TextChoices):
    """What the back office announces to the marketplace's webhook endpoints."""

    REFUND_SUBMITTED = "refund.submitted", "refund.submitted: a pro reported a lead"
    REFUND_APPROVED = "refund.approved", "refund.approved: the refund was approved"
    REFUND_CREDITED = "refund.credited", "refund.credited: the credit was paid"
    REFUND_DENIED = "refund.denied", "refund.denied: the pro was told of a denial"
    REFUND_CUSTOMER_QUESTION = (
        "refund.customer_question",
        "refund.customer_question: a reviewer asks the customer a question",
    )
    REFUND_REVERSED = (
        "refund.reversed",
        "refund.reversed: support took a credit back from the pro's balance",
    )
    DISPUTE_OPENED = "dispute.opened", "dispute.opened: the pro disputed a decision or a reversal"
    DISPUTE_RESOLVED = "dispute.resolved", "dispute.resolved: support overturned or upheld it"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
