"""scripts/serve (production start) and config/gunicorn.conf.py.

The script's process handling is tested with a stand-in for the Python interpreter (PYTHON):
it records what it was asked to run and plays gunicorn and qcluster as long-running processes,
so the tests need neither a migrated database nor collected static files.
"""

import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "scripts" / "serve"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"

STUB = r"""#!/usr/bin/env bash
# Stands in for python: records each call; gunicorn and qcluster run until stopped.
log=$STUB_LOG
play() {  # name, exit status when it ends by itself
  echo "$1 started $$" >> "$log"
  if [ -n "${STUB_IGNORE_TERM:-}" ]; then
    trap '' TERM
    sleep 300 &  # a child in the same process group, like gunicorn's workers
    echo "$1 child $!" >> "$log"
  else
    trap 'echo "$1 stopped by TERM" >> "$log"; exit 0' TERM
  fi
  local ticks=0
  while :; do
    sleep 0.1
    ticks=$((ticks + 1))
    if [ -n "${2:-}" ] && [ "$ticks" -ge 15 ]; then echo "$1 ends $2" >> "$log"; exit "$2"; fi
  done
}
case "$*" in
  -c*) echo "${STUB_MODE:-production}" ;;
  "manage.py migrate --noinput") echo migrate >> "$log" ;;
  "manage.py createcachetable") echo createcachetable >> "$log" ;;
  "manage.py collectstatic --noinput -v0") echo collectstatic >> "$log" ;;
  "-m gunicorn -c config/gunicorn.conf.py") play web "${STUB_WEB_EXIT:-}" ;;
  "manage.py qcluster") play worker "${STUB_WORKER_EXIT:-}" ;;
  *) echo "unexpected: $*" >> "$log"; exit 99 ;;
esac
"""


@pytest.fixture
def serve(tmp_path):
    stub = tmp_path / "python"
    stub.write_text(STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()

    def start(*args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(SERVE), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHON": str(stub), "STUB_LOG": str(log), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    start.log = log
    return start


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def wait_for(log: Path, text: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(text in line for line in lines(log)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {lines(log)}")


def pid_of(log: Path, name: str) -> int:
    return int(next(line for line in lines(log) if line.startswith(f"{name} started")).split()[-1])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: only its parent's wait is missing.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_it_migrates_collects_static_then_runs_both_and_stops_both_on_sigterm(serve):
    process = serve()
    wait_for(serve.log, "worker started")
    wait_for(serve.log, "web started")
    assert lines(serve.log)[:3] == ["migrate", "createcachetable", "collectstatic"]

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert "web stopped by TERM" in lines(serve.log)
    assert "worker stopped by TERM" in lines(serve.log)
    assert gone(pid_of(serve.log, "web")) and gone(pid_of(serve.log, "worker"))


def test_sigint_stops_both_too(serve):
    process = serve()
    wait_for(serve.log, "worker started")
    wait_for(serve.log, "web started")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert {"web stopped by TERM", "worker stopped by TERM"} <= set(lines(serve.log))


@pytest.mark.parametrize(("status", "expected"), [("3", 3), ("0", 1)])
def test_when_the_worker_dies_the_web_server_is_stopped_and_it_exits_non_zero(
    serve, status, expected
):
    process = serve(STUB_WORKER_EXIT=status)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == expected, output
    assert "a process exited" in output
    assert "web stopped by TERM" in lines(serve.log)


def test_when_the_web_server_dies_the_worker_is_stopped(serve):
    process = serve(STUB_WEB_EXIT="4")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 4, output
    assert "worker stopped by TERM" in lines(serve.log)


def test_what_ignores_sigterm_is_killed_with_its_process_group(serve):
    process = serve(STUB_IGNORE_TERM="1", SERVE_STOP_SECONDS="1")
    wait_for(serve.log, "worker child")
    wait_for(serve.log, "web child")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    children = [int(line.split()[-1]) for line in lines(serve.log) if " child " in line]
    assert len(children) == 2
    deadline = time.monotonic() + 5
    while not all(gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in children)
    assert gone(pid_of(serve.log, "web")) and gone(pid_of(serve.log, "worker"))


def test_one_role_per_node_and_no_migrate_when_asked(serve):
    web = serve("web", SERVE_MIGRATE="0")
    wait_for(serve.log, "web started")
    web.send_signal(signal.SIGTERM)
    web.communicate(timeout=30)
    assert [line.split()[0] for line in lines(serve.log)] == ["collectstatic", "web", "web"]

    serve.log.write_text("")
    worker = serve("worker")
    wait_for(serve.log, "worker started")
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=30)
    assert [line.split()[0] for line in lines(serve.log)] == [
        "migrate",
        "createcachetable",
        "worker",
        "worker",
    ]


def test_it_refuses_a_role_it_does_not_know(serve):
    process = serve("everything")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2 and "usage" in output
    assert lines(serve.log) == []


def test_it_refuses_to_start_with_debug_on():
    """With the real interpreter and settings: DEBUG on is refused before anything runs."""
    result = subprocess.run(
        [str(SERVE)],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "refuses to start with DEBUG on" in result.stderr
    assert "migrat" not in result.stdout


def test_it_refuses_the_test_suites_settings():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    result = subprocess.run(
        [str(SERVE)],
        cwd=ROOT,
        env={**env, "PYTHON": sys.executable, "TESTING": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "refuses to start with TESTING on" in result.stderr


def test_it_stops_at_settings_that_do_not_load():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "SECRET_KEY"}}
    result = subprocess.run(
        [str(SERVE)],
        cwd=ROOT,
        env={**env, "PYTHON": sys.executable, "ALLOWED_HOSTS": "refunds.example.com"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


# config/gunicorn.conf.py


def gunicorn_settings(monkeypatch, **env: str) -> dict:
    for name in (
        "GUNICORN_BIND",
        "WEB_CONCURRENCY",
        "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "GUNICORN_MAX_REQUESTS",
        "TRUST_PROXY_HEADERS",
        "FORWARDED_ALLOW_IPS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_defaults(monkeypatch):
    conf = gunicorn_settings(monkeypatch)
    assert conf["wsgi_app"] == "config.wsgi:application"
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["workers"] == min(2 * os.cpu_count() + 1, conf["MAX_DEFAULT_WORKERS"])
    assert (conf["timeout"], conf["graceful_timeout"]) == (30, 30)
    assert conf["accesslog"] == "-"
    assert conf["forwarded_allow_ips"] == ""  # no proxy's word is taken unless asked


def test_gunicorn_reads_the_environment(monkeypatch):
    conf = gunicorn_settings(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:9000",
        WEB_CONCURRENCY="12",
        GUNICORN_TIMEOUT="60",
        GUNICORN_GRACEFUL_TIMEOUT="10",
        TRUST_PROXY_HEADERS="on",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
    )
    assert conf["bind"] == ["127.0.0.1:9000"]
    assert conf["workers"] == 12  # set explicitly, no cap
    assert (conf["timeout"], conf["graceful_timeout"]) == (60, 10)
    assert conf["forwarded_allow_ips"] == "10.0.0.0/8"
    assert gunicorn_settings(monkeypatch, TRUST_PROXY_HEADERS="1")["forwarded_allow_ips"] == "*"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY must be a whole number"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY must be at least 1"),
        ({"TRUST_PROXY_HEADERS": "perhaps"}, "TRUST_PROXY_HEADERS must be true or false"),
    ],
)
def test_gunicorn_refuses_bad_values(monkeypatch, env, message):
    with pytest.raises(SystemExit, match=message):
        gunicorn_settings(monkeypatch, **env)


def test_gunicorn_accepts_the_file():
    pytest.importorskip("gunicorn", reason="gunicorn comes with the prod extra")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--check-config"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
