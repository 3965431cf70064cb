"""Background work, run by the django-q2 worker. Each task is safe to run more than once.

A task that fails raises: the worker records the failure and, because services.enqueue sends
our tasks with ack_failure=False, hands the task out again after Q_RETRY seconds, up to
Q_CLUSTER["max_attempts"]. The scheduled tasks at the bottom (created by migrations 0003, 0004,
0014 and 0015) pick up anything that falls through: claims that ran out, decisions whose side
effects never finished, and requests past their review deadline; the heartbeat says the worker
runs; and the analytics' daily roll-ups are kept up to date.
"""

from config.logs import bound
from refunds import services


def post_credit(credit_id: int) -> None:
    services.post_credit(credit_id)


def post_top_up(top_up_id: int) -> None:
    services.post_top_up(top_up_id)


def keep_credit(decision_id: int) -> None:
    services.keep_credit(decision_id)


def deliver_denial(decision_id: int) -> None:
    services.deliver_denial(decision_id)


def email_notice(message_id: int) -> None:
    services.email_notice(message_id)


def release_decision(decision_id: int) -> None:
    services.release_decision(decision_id)


def run_later(func: str, *args, request_id: str = "") -> None:
    """A task scheduled for later (services.enqueue_at), queued now with our retries and with
    the id of the request that scheduled it."""
    if not request_id:
        services.enqueue(func, *args)
        return
    with bound(request_id):
        services.enqueue(func, *args)


# Scheduled


def expire_claims() -> int:
    return len(services.expire_claims())


def resume_stuck() -> int:
    resumed = services.resume_stuck()
    return sum(len(ids) for ids in resumed.values())


def sweep_overdue() -> int:
    """Requests past their decision time, then disputes past their answer time."""
    return len(services.sweep_overdue()) + len(services.sweep_overdue_disputes())


def compute_peer_stats() -> int:
    return services.compute_peer_stats()


def worker_heartbeat() -> None:
    """Every minute: the web processes read its time to tell whether a worker is working."""
    services.record_heartbeat()


def prune_task_history(days: int = 14) -> int:
    """Forget successful worker runs older than `days`; failures stay for support."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Success

    deleted, _ = Success.objects.filter(stopped__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted


def rebuild_rollups() -> int:
    """Every 30 minutes: the analytics' daily roll-ups for the day that closed out and for
    any older day a late decision, an undo, a withdrawal or a dispute changed."""
    from django.utils import timezone

    from refunds.analytics import rollups

    return len(rollups.rebuild(timezone.now()))
