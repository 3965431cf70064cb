"""The worker measure of bench/run.py: approve open requests, run a real qcluster over the
credits and notices they queue, and record its time and memory (imported once Django is set up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from accounts.models import User
from refunds import services
from refunds.choices import OPEN_STATUSES
from refunds.models import RefundRequest

ROOT = Path(__file__).resolve().parent.parent


def measure_worker(tasks_wanted: int) -> dict:
    """Approve open requests (each queues a credit, which queues an email), run the worker."""
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()
    reviewer = User.objects.filter(groups__name="reviewer", email__endswith="@load.test").first()
    ids = list(
        RefundRequest.objects.filter(status__in=OPEN_STATUSES, claimed_by__isnull=True)
        .order_by("due_at")
        .values_list("pk", flat=True)[: tasks_wanted // 2]
    )
    print(f"  approving {len(ids):,} requests to queue their credits ...", flush=True)
    for request_id in ids:
        services.approve(reviewer=reviewer, request_id=request_id)
    queued = OrmQ.objects.count()
    env = {
        **os.environ,
        "Q_SYNC": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peaks: dict[int, int] = {}
    peak_together = 0
    peak_unique = 0
    deadline = started + 600
    try:
        while time.monotonic() < deadline:
            pids = [worker.pid, *children(worker.pid)]
            for pid in pids:
                peaks[pid] = max(peaks.get(pid, 0), rss_kb(pid, "VmHWM"))
            # Workers are recycled: what counts is the memory of the processes alive together.
            peak_together = max(peak_together, sum(rss_kb(pid, "VmRSS") for pid in pids))
            # The processes are forked from one parent and share much of it: RSS counts shared
            # pages once per process, PSS divides them between the processes that share them.
            peak_unique = max(peak_unique, sum(pss_kb(pid) for pid in pids))
            done = not RefundRequest.objects.filter(pk__in=ids, status="reviewed").exists()
            if done and OrmQ.objects.count() == 0:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        worker.send_signal(signal.SIGINT)  # qcluster's own clean stop
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    credited = RefundRequest.objects.filter(pk__in=ids, status="credited").count()
    return {
        "tasks": queued + credited,  # each credit queued one email when it ran
        "credited": credited,
        "approved": len(ids),
        "seconds": round(elapsed, 1),
        "peak_rss_mb_per_process": round(max(peaks.values(), default=0) / 1024, 1),
        "peak_rss_mb_all_processes": round(peak_together / 1024, 1),
        "peak_pss_mb_all_processes": round(peak_unique / 1024, 1),
    }


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
            found.extend(children(int(entry.name)))
    return found


def pss_kb(pid: int) -> int:
    """A process's proportional share of memory, shared pages split between their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int, field: str) -> int:
    """A process's resident memory from /proc: VmRSS (now) or VmHWM (its peak)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def print_worker(worker: dict) -> None:
    if worker:
        print(
            f"worker: {worker['tasks']:,} tasks ({worker['credited']:,} credits posted) in "
            f"{worker['seconds']}s, peak RSS {worker['peak_rss_mb_per_process']} MB per "
            f"process; all its processes together: {worker['peak_rss_mb_all_processes']} MB "
            f"RSS, {worker['peak_pss_mb_all_processes']} MB PSS (shared pages counted once)"
        )
