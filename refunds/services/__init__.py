"""Every change of a refund request's state happens here.

Each command is one transaction: it locks the request row, checks who may act and in which
state, runs the django-fsm transition, writes the decision and the event, and queues side
effects (credits, notices) with transaction.on_commit so they never run for a rolled-back change.
Views, admin actions, tasks and commands call these functions; nothing else calls a transition.

The package is split by kind: commands (report, review, disputes, credits), the worker's tasks,
the scheduled sweeps and the read queries. Callers import this package: `services.approve(...)`.
"""

from refunds.services.core import (
    MAX_DETAILS_LENGTH,
    MAX_NOTE_LENGTH,
    AlreadyReported,
    RefundError,
    enqueue,
    enqueue_at,
    params,
)
from refunds.services.credits import retry_credit
from refunds.services.disputes import open_dispute, overturn, uphold
from refunds.services.queries import (
    DUE_SOON,
    PROMISE_STATS_CACHE_KEY,
    allowed_actions,
    assess_lead,
    automatic_approvals_between,
    decisions_by_outcome_and_kind,
    due_soon_condition,
    duplicate_candidates,
    market_peer_rates,
    open_dispute_counts,
    open_request_counts,
    open_work,
    overdue_condition,
    peer_rates_for,
    pro_history,
    queue_stats,
    report_deadline,
    report_facts,
    reportable,
    reportable_leads,
    reported_leads,
    retrying_credits,
    same_customer,
    settling_card_refunds,
    stuck_credits,
    waiting_spot_checks,
    worker_heartbeat_age,
)
from refunds.services.report import submit_report, withdraw
from refunds.services.review import (
    approve,
    bulk_deny,
    check_automatic_approval,
    claim,
    deny,
    release,
    release_decision,
)
from refunds.services.sweeps import (
    STUCK_AFTER,
    compute_peer_stats,
    expire_claims,
    record_heartbeat,
    resume_stuck,
    sweep_overdue,
    sweep_overdue_disputes,
)
from refunds.services.tasks import deliver_denial, email_notice, post_credit
from refunds.services.undo import undo, undo_refusal

__all__ = [
    "DUE_SOON",
    "MAX_DETAILS_LENGTH",
    "MAX_NOTE_LENGTH",
    "PROMISE_STATS_CACHE_KEY",
    "STUCK_AFTER",
    "AlreadyReported",
    "RefundError",
    "allowed_actions",
    "approve",
    "assess_lead",
    "automatic_approvals_between",
    "bulk_deny",
    "check_automatic_approval",
    "claim",
    "compute_peer_stats",
    "decisions_by_outcome_and_kind",
    "deliver_denial",
    "deny",
    "due_soon_condition",
    "duplicate_candidates",
    "email_notice",
    "enqueue",
    "enqueue_at",
    "expire_claims",
    "market_peer_rates",
    "open_dispute",
    "open_dispute_counts",
    "open_request_counts",
    "open_work",
    "overdue_condition",
    "overturn",
    "params",
    "peer_rates_for",
    "pro_history",
    "post_credit",
    "queue_stats",
    "record_heartbeat",
    "release",
    "release_decision",
    "report_deadline",
    "report_facts",
    "reportable",
    "reportable_leads",
    "reported_leads",
    "resume_stuck",
    "retry_credit",
    "retrying_credits",
    "same_customer",
    "settling_card_refunds",
    "stuck_credits",
    "submit_report",
    "sweep_overdue",
    "sweep_overdue_disputes",
    "undo",
    "undo_refusal",
    "uphold",
    "waiting_spot_checks",
    "withdraw",
    "worker_heartbeat_age",
]
