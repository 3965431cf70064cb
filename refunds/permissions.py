"""The permissions of the back office, spelled once: the models declare them, the state
machine's transitions require them, and the admin and services check them."""

DECIDE = "refunds.decide_refundrequest"
RESOLVE_DISPUTE = "refunds.resolve_dispute"
RETRY_CREDIT = "refunds.retry_credit"
VIEW_ANALYTICS = "refunds.view_analytics"
