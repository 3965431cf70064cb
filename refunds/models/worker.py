"""What the worker leaves for the web processes to read about itself."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last ran the heartbeat task (refunds.tasks.worker_heartbeat, every minute).

    One row, in the database rather than the cache: the cache may be each process's own memory,
    and the web processes must see what the worker wrote (/health/ready, /metrics).
    """

    SINGLE_ROW = 1

    id = models.PositiveSmallIntegerField(
        verbose_name="id",
        primary_key=True,
        default=SINGLE_ROW,
        editable=False,
    )
    beat_at = models.DateTimeField(
        verbose_name="last heartbeat",
    )

    class Meta:
        verbose_name = "worker heartbeat"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="worker_heartbeat_one_row"),
        ]

    def __str__(self) -> str:
        return f"worker heartbeat at {self.beat_at:%Y-%m-%d %H:%M:%S}"
