"""Real `manage.py qcluster` processes: several on one broker pay each credit once, and a
cluster whose qcluster process is killed with SIGKILL leaves nothing behind taking tasks.

Each test runs once on the database broker (the default) and once on Redis (Q_BROKER_URL).
The clusters are separate processes reading the test database, so they need PostgreSQL; the
Redis runs also need a Redis server, at TEST_REDIS_URL (redis://127.0.0.1:6379/15, a database
of its own so a local demo's queue is never touched). Where either is missing these tests are
skipped with the reason, unless REQUIRE_REDIS=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from accounts.choices import LedgerKind
from accounts.models import InboxMessage, LedgerEntry
from leads.choices import PaymentMethod
from refunds import services
from refunds.choices import CreditStatus, Reason, Status
from refunds.models import Credit, RefundEvent, RefundRequest, SandboxRefund
from tests.factories import LeadFactory

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CREDITS = 200
WORKERS = 2  # per cluster


def unavailable(reason: str, required: bool) -> None:
    if required and os.environ.get("REQUIRE_REDIS") == "1":
        pytest.fail(f"REQUIRE_REDIS=1 but {reason}")
    pytest.skip(reason)


def redis_problem() -> str | None:
    import redis

    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {REDIS_URL} ({error})"
    return None


@pytest.fixture(params=["orm", "redis"])
def broker(request, monkeypatch) -> Iterator[str]:
    """The broker's name; tasks this test queues go to it, as the web would queue them."""
    name = request.param
    if connection.vendor != "postgresql":
        unavailable(
            "these tests run qcluster processes against the test database, which needs "
            "PostgreSQL (DATABASE_URL=postgres://...)",
            required=name == "redis",
        )
    if name == "redis" and (problem := redis_problem()):
        unavailable(problem, required=True)
    monkeypatch.setattr(Conf, "SYNC", False)
    if name == "redis":
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    queue = get_broker()
    queue.delete_queue()
    # The migrations' schedules would queue sweeps among the tasks the test counts.
    Schedule.objects.all().delete()
    yield name
    queue.delete_queue()


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def process_state(pid: int) -> str | None:
    """'R', 'S', 'Z'... from /proc, or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    return process_state(pid) not in (None, "Z", "X")


def descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_until(check: Callable[[], bool], seconds: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what() if callable(what) else what}")
        time.sleep(0.2)


class QCluster:
    """`manage.py qcluster` in a process group of its own, logging to a file."""

    def __init__(self, broker: str, log: Path):
        env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "Q_BROKER_URL"}}
        env.update(
            DATABASE_URL=database_url(),
            SECRET_KEY=settings.SECRET_KEY,  # tasks are signed with it
            DEBUG="0",
            ALLOWED_HOSTS="localhost",
            Q_SYNC="0",
            Q_WORKERS=str(WORKERS),
            REFUND_UNDO_SECONDS="0",
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            LOG_LEVEL="INFO",
        )
        if broker == "redis":
            env["Q_BROKER_URL"] = REDIS_URL
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def started(self) -> list[int]:
        """The sentinel, the workers, the monitor and the pusher, once all are up."""
        wait_until(
            lambda: len(descendants(self.pid)) == WORKERS + 3 or self.process.poll() is not None,
            120,
            lambda: f"qcluster starts its processes; its log ends:\n{self.log.read_text()[-2000:]}",
        )
        assert self.process.poll() is None, self.log.read_text()[-2000:]
        return descendants(self.pid)

    def ran(self, func: str) -> int:
        """How many times this cluster's workers started `func` (they log each at INFO)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(" processing " in line and f"'{func}'" in line for line in lines)

    def stop(self) -> None:
        """qcluster's own clean stop (SIGTERM), then the whole group, whatever is left of it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def qclusters(tmp_path) -> Iterator[Callable[[str], QCluster]]:
    started: list[QCluster] = []

    def start(broker: str) -> QCluster:
        started.append(QCluster(broker, tmp_path / f"qcluster-{len(started) + 1}.log"))
        return started[-1]

    yield start
    for cluster in started:
        cluster.stop()


def test_manage_py_qcluster_is_the_one_whose_processes_stop_with_it():
    assert get_commands()["qcluster"] == "refunds"


# A process tree as django-q2 builds it (multiprocessing, fork): parent → child → grandchild.
TREE = """
import multiprocessing, sys, time
from refunds import worker_processes
if sys.argv[1] == "watch":
    worker_processes.ask_the_kernel = lambda signum: False  # as on a system without prctl
worker_processes.stop_with_parent()
fork = multiprocessing.get_context("fork")

def child(pids):
    grandchild = fork.Process(target=time.sleep, args=(60,))
    grandchild.start()
    pids.put(grandchild.pid)
    time.sleep(60)

pids = fork.Queue()
child_process = fork.Process(target=child, args=(pids,))
child_process.start()
print(child_process.pid, pids.get(), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["kernel", "watch"])
def test_processes_started_after_stop_with_parent_end_when_their_parent_is_killed(how):
    tree = subprocess.Popen(
        [sys.executable, "-c", TREE, how],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        child, grandchild = (int(pid) for pid in tree.stdout.readline().split())
        assert alive(child) and alive(grandchild)
        os.kill(tree.pid, signal.SIGKILL)
        tree.wait()
        # The child goes with its parent, and then the grandchild with the child.
        wait_until(lambda: not alive(child) and not alive(grandchild), 10, "both end")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()


@pytest.mark.django_db(transaction=True)
def test_two_clusters_on_one_broker_pay_each_credit_once(broker, qclusters, alice, rita):
    methods = [PaymentMethod.BALANCE, PaymentMethod.CARD]
    requests = [
        services.submit_report(
            pro=alice,
            lead_id=LeadFactory(
                pro=alice,
                payment_method=methods[i % 2],
                price=Decimal("20.00") + i,
                customer_phone=f"+1 512 555 {1000 + i}",  # no duplicate candidates to compute
            ).pk,
            reason=Reason.SPAM,
        )
        for i in range(CREDITS)
    ]
    for request in requests:
        services.approve(reviewer=rita, request_id=request.pk)
    assert get_broker().queue_size() == CREDITS, "every credit task waits in the broker"
    assert not Credit.objects.filter(status=CreditStatus.POSTED).exists()

    clusters = [qclusters(broker), qclusters(broker)]
    for cluster in clusters:
        cluster.started()
    # Each credit queues its approval email; done when both have gone through.
    wait_until(
        lambda: (
            RefundRequest.objects.filter(status=Status.CREDITED).count() == CREDITS
            and InboxMessage.objects.filter(emailed_at__isnull=False).count() == CREDITS
        ),
        300,
        f"{CREDITS} credits posted and their emails sent",
    )
    for cluster in clusters:
        cluster.stop()

    # Each task was handed out once, to one of the two clusters, and both took a share.
    runs = Task.objects.filter(func="refunds.tasks.post_credit")
    assert runs.count() == CREDITS
    assert set(runs.values_list("success", "attempt_count")) == {(True, 1)}
    shares = [cluster.ran("refunds.tasks.post_credit") for cluster in clusters]
    assert sum(shares) == CREDITS and min(shares) > 0, shares

    # Each request paid once: one ledger entry or one refund at the provider, one event.
    posted = Counter(
        RefundEvent.objects.filter(action="credit_posted").values_list("request_id", flat=True)
    )
    assert posted == {request.pk: 1 for request in requests}
    balance = [r.pk for r in requests if r.lead.payment_method == PaymentMethod.BALANCE]
    card = [r.pk for r in requests if r.lead.payment_method == PaymentMethod.CARD]
    entries = Counter(
        LedgerEntry.objects.filter(kind=LedgerKind.REFUND).values_list(
            "credit__request_id", flat=True
        )
    )
    assert entries == dict.fromkeys(balance, 1)
    refunds = Counter(SandboxRefund.objects.values_list("idempotency_key", flat=True))
    assert refunds == {f"refund-request-{pk}": 1 for pk in card}
    assert alice.balance() == sum(r.lead.price for r in requests if r.pk in set(balance))
    call_command("audit_refunds")  # raises CommandError if anything disagrees


@pytest.mark.django_db(transaction=True)
def test_a_qcluster_killed_with_sigkill_leaves_no_process_taking_tasks(broker, qclusters):
    cluster = qclusters(broker)
    children = cluster.started()
    # The cluster works: a worker of it runs a task (whose result is that worker's pid).
    async_task("os.getpid", task_name="before-the-kill")
    wait_until(lambda: Task.objects.filter(name="before-the-kill").exists(), 60, "a task runs")
    assert Task.objects.get(name="before-the-kill").result in children

    os.kill(cluster.pid, signal.SIGKILL)
    cluster.process.wait()
    wait_until(
        lambda: not any(alive(pid) for pid in children),
        10,
        lambda: (
            f"the sentinel, workers, monitor and pusher stop; still running: "
            f"{[pid for pid in children if alive(pid)]}"
        ),
    )

    async_task("os.getpid", task_name="after-the-kill")
    time.sleep(3)  # the pusher fetches every 0.2 s (database) or waits 1 s on Redis
    assert get_broker().queue_size() == 1, "the task is still waiting in the broker"
    assert not Task.objects.filter(name="after-the-kill").exists()
    assert not [pid for pid in children if alive(pid)]
