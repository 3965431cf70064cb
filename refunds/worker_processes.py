"""The worker's processes stop when the process that started them dies.

`manage.py qcluster` is a tree: qcluster → sentinel → workers, monitor and pusher, each started
by django-q2 through multiprocessing (fork). Only qcluster handles a stop; if it is killed with
SIGKILL (kill -9, the OOM killer), nothing tells the sentinel, which keeps its workers taking
tasks, orphans that no supervisor knows about.

`stop_with_parent()` registers a multiprocessing after-fork hook: the standard library runs it
in every child process multiprocessing starts, before the child's own code, and the children
inherit it for their own children. In each, the hook asks the kernel for SIGTERM when the
parent dies (Linux's prctl PR_SET_PDEATHSIG); elsewhere a thread watches os.getppid(). Every
process of the cluster leaves SIGTERM at its default, so the signal ends it at once: a task cut
short rolls back its transaction, and every task is safe to run again.

Standard library only, so it can be tried without Django (tests/guarantees/test_worker_cluster.py).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SIGNAL = signal.SIGTERM
WATCH_SECONDS = 0.5


def ask_the_kernel(signum: int) -> bool:
    """Linux: deliver `signum` to this process when the thread that forked it exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def watch_the_parent(parent_pid: int, signum: int) -> None:
    """Elsewhere: a daemon thread that signals this process once its parent has gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signum)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _in_the_child(_owner: object) -> None:
    """Run by multiprocessing in each new child process, before the child's target."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    if not ask_the_kernel(SIGNAL):
        watch_the_parent(parent.pid, SIGNAL)
    if os.getppid() != parent.pid:
        # The parent died between the fork and the request above: no signal will come.
        os._exit(1)


class _Hook:
    """multiprocessing keeps after-fork hooks by weak reference: this object keeps ours."""


_hook: _Hook | None = None


def stop_with_parent() -> None:
    """From now on, every process multiprocessing starts stops when its parent dies."""
    global _hook
    if _hook is None:
        _hook = _Hook()
        multiprocessing.util.register_after_fork(_hook, _in_the_child)
