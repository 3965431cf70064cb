"""Background work, run by the django-q2 worker. Each task is safe to run more than once."""

from refunds import services


def post_credit(credit_id: int) -> None:
    services.post_credit(credit_id)


def deliver_denial(decision_id: int) -> None:
    services.deliver_denial(decision_id)


def email_notice(message_id: int) -> None:
    services.email_notice(message_id)
