"""The production smoke test (run it with scripts/smoke; CI does, after the PostgreSQL suite).

One refund goes through a production layout, on real processes, end to end:

1. A fresh PostgreSQL database (SMOKE_DATABASE_URL, dropped and created again), migrated, with
   the demo data (`seed_demo`: the pro, the lead to report, the reviewer), and a Redis database
   of its own (SMOKE_REDIS_URL, emptied at the start and at the end) for the worker's queue
   (Q_BROKER_URL) and the cache (CACHE_URL), as several web processes need.
2. `scripts/serve web` (gunicorn with 2 processes, config/gunicorn.conf.py) and `scripts/serve
   worker` twice (two qclusters, 2 workers each), production settings, on 127.0.0.1 only. It
   waits for /health/ready to answer 200 and shows its JSON when it does not.
3. Over HTTP, as a browser behind the TLS proxy would (the proxy's X-Forwarded-Proto: https,
   cookies, CSRF tokens): the pro signs in and reports Derek Lawson's lead from Marketing →
   Messages → the lead → Report; the reviewer signs in to the back office, searches for the
   request and presses the request page's Approve button; within CREDIT_SECONDS the pro's
   Credits page shows the refund added to the balance, once. /metrics (Bearer METRICS_TOKEN)
   counts the open request and the approval.
4. Each `scripts/serve` stopped with SIGTERM, as a supervisor stops it: it must exit 0 and leave
   no process of its session behind. Then `manage.py audit_refunds` must find nothing wrong, and
   the logs no traceback and no 5xx answer.

It exits non-zero with the reason on any failure, printing the end of every log (the logs stay
in a temporary directory then). Whatever happens (a failure, Ctrl-C, SIGTERM), every process it
started is stopped; killed outright, it leaves each scripts/serve a SIGTERM (Linux's
parent-death signal), which stops gunicorn or qcluster.

  SMOKE_DATABASE_URL  postgres://postgres@127.0.0.1:5432/refunds_smoke (dropped at each run, so
                      its name must contain "smoke")
  SMOKE_REDIS_URL     redis://127.0.0.1:6379/14 (emptied: give it a database of its own)
  SMOKE_PORT          8765, where gunicorn listens on 127.0.0.1
  PYTHON              the interpreter scripts/serve runs (scripts/smoke sets it)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit
from urllib.request import (
    HTTPCookieProcessor,
    HTTPRedirectHandler,
    ProxyHandler,
    Request,
    build_opener,
)

import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from refunds.worker_processes import ask_the_kernel  # noqa: E402 (standard library only)

DATABASE_URL = os.environ.get(
    "SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/refunds_smoke"
)
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("SMOKE_PORT", "8765"))
PYTHON = os.environ.get("PYTHON", sys.executable)
SITE = f"http://127.0.0.1:{PORT}"
ORIGIN = f"https://127.0.0.1:{PORT}"  # the site as the browser sees it, through the proxy

WEB_PROCESSES = 2  # gunicorn's (WEB_CONCURRENCY)
QCLUSTERS = 2
WORKERS_PER_QCLUSTER = 2  # Q_WORKERS; each qcluster adds a sentinel, a monitor and a pusher
# collectstatic compresses every file before gunicorn starts (gzip, and brotli when installed,
# as it is in the dev environment): under a minute on 2 quiet cores, 2 to 3 on busy ones.
READY_SECONDS = 240
# No undo window: the approval's web process queues the credit in Redis itself, so the credit
# shows that the web and the workers share the broker. (With a window, a worker's scheduler
# would queue it; the scheduler is already shown working by the heartbeat /health/ready needs.)
UNDO_SECONDS = 0
CREDIT_SECONDS = 60
STOP_SECONDS = 30  # SERVE_STOP_SECONDS: what is still running then is killed by scripts/serve
HTTP_SECONDS = 30
MANAGE_SECONDS = 120  # migrate, seed_demo, audit_refunds

PRO = "pro@demo.test"
REVIEWER = "reviewer@demo.test"
PASSWORD = "demo-password"
# The demo keeps this lead of the pro's for an "Invalid or fake contact info" report that the
# unreachable-contact rule only suggests approving: a reviewer decides it.
CUSTOMER = "Derek Lawson"
REASON = "invalid_contact"

# What the services inherit from this environment; everything else they are given below.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class Failure(Exception):
    """The smoke test failed; the message says how."""


class Interrupted(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failure(message)


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"smoke [{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


# --- Processes ---------------------------------------------------------------------------------


def stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command's name: state, ppid, pgrp, session, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def all_processes() -> dict[int, list[str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat(int(entry.name))) and fields[0] != "Z":
            found[int(entry.name)] = fields
    return found


def in_session(session: int) -> list[int]:
    """The live processes of a session (each service runs in one of its own)."""
    return sorted(pid for pid, fields in all_processes().items() if int(fields[3]) == session)


def children(pid: int) -> list[int]:
    return sorted(child for child, fields in all_processes().items() if int(fields[1]) == pid)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


class Service:
    """One `scripts/serve <role>` in a session of its own, its output in a log file.

    The session holds everything it starts (scripts/serve puts gunicorn and qcluster in process
    groups of their own, still in its session), which is how stop() finds what is left.
    """

    def __init__(self, name: str, role: str, env: dict[str, str], logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "serve"), role],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Should this script be killed outright, scripts/serve still gets its SIGTERM.
                preexec_fn=lambda: ask_the_kernel(signal.SIGTERM),
            )
        self.pid = self.process.pid

    def main_process(self, word: str) -> int | None:
        """scripts/serve's child running gunicorn or qcluster."""
        return next((pid for pid in children(self.pid) if word in command_line(pid)), None)

    def signal(self) -> None:
        """SIGTERM to scripts/serve's process group, as a supervisor stops it: scripts/serve
        itself, and what it runs in the foreground before it starts the service (migrate,
        collectstatic); it stops gunicorn or qcluster, in groups of their own, itself."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)

    def stopped(self) -> list[str]:
        """Waits for the stop asked by signal(); what went wrong, if anything."""
        problems = []
        try:
            self.process.wait(timeout=STOP_SECONDS + 20)
        except subprocess.TimeoutExpired:
            problems.append(f"{self.name}: scripts/serve did not exit after SIGTERM")
        if self.process.returncode not in (0, None):
            problems.append(f"{self.name}: scripts/serve exited with {self.process.returncode}")
        wait_until(lambda: not in_session(self.pid), 5)
        if left := in_session(self.pid):
            shown = "; ".join(f"{pid} {command_line(pid)}" for pid in left)
            problems.append(f"{self.name}: left running after the stop (killed now): {shown}")
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.process.returncode is None:
            self.process.kill()
            self.process.wait()
        return problems

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


# --- A browser -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)  # radio buttons, checkboxes
    buttons: list[str] = field(default_factory=list)


class Parsed(HTMLParser):
    """The links (href, text) and forms of a page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.forms: list[Form] = []
        self._link: list[str] | None = None
        self._form: Form | None = None
        self._button: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in a:
            self._link = [a["href"], ""]
        elif tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea") and a.get("name"):
            if a.get("type") in ("radio", "checkbox"):
                self._form.choices.setdefault(a["name"], []).append(a.get("value", "on"))
            elif a.get("type") not in ("submit", "button"):
                self._form.fields[a["name"]] = a.get("value", "")
        elif self._form is not None and tag == "button":
            self._button = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None
        elif tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None and self._form is not None:
            self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link[1] += data
        if self._button is not None:
            self._button.append(data)


@dataclass
class Page:
    url: str
    status: int
    text: str

    @property
    def parsed(self) -> Parsed:
        return Parsed(self.text)

    def summary(self) -> str:
        title = re.search(r"<title>(.*?)</title>", self.text, re.S)
        body = title.group(1).strip() if title else " ".join(self.text.split())[:300]
        return f"{self.status} at {urlsplit(self.url).path} ({body})"

    def link(self, text: str, exact: bool = False) -> str:
        """The one link whose text is (or contains) `text`."""
        hrefs = sorted(
            {
                href
                for href, shown in self.parsed.links
                if (shown == text if exact else text in shown)
            }
        )
        check(len(hrefs) == 1, f"one link {text!r} on {self.summary()}, found {hrefs}")
        return urljoin(self.url, hrefs[0])

    def form(self, **having: str) -> Form:
        """The one form with these fields (a value of "" asks only that the field is there)."""
        forms = [
            form
            for form in self.parsed.forms
            if all(
                (name in form.fields and value in ("", form.fields[name])) or name in form.choices
                for name, value in having.items()
            )
        ]
        check(len(forms) == 1, f"one form with {having} on {self.summary()}, found {len(forms)}")
        return forms[0]


class StayOnThisSite(HTTPRedirectHandler):
    """Follows redirects within the site only: every request goes to 127.0.0.1."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check(newurl.startswith(f"{SITE}/"), f"{req.full_url} redirects away, to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Browser:
    """What a browser does, as gunicorn sees it behind the TLS proxy.

    The proxy adds X-Forwarded-Proto: https (the production settings trust it with
    TRUST_PROXY_HEADERS, and then neither redirect to HTTPS nor refuse the secure cookies'
    session); the browser keeps those cookies,
    sends them back, and sends its Origin with each form, which CSRF checks.
    """

    def __init__(self) -> None:
        # The hop from the proxy to gunicorn is plain HTTP: the secure cookies still go.
        jar = CookieJar(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
        # ProxyHandler({}): no HTTP proxy from the environment either.
        self.opener = build_opener(ProxyHandler({}), StayOnThisSite(), HTTPCookieProcessor(jar))
        self.opener.addheaders = [("X-Forwarded-Proto", "https"), ("User-Agent", "refunds-smoke")]

    def open(self, request: Request) -> Page:
        check(request.full_url.startswith(f"{SITE}/"), f"not this site: {request.full_url}")
        try:
            with self.opener.open(request, timeout=HTTP_SECONDS) as response:
                return Page(response.url, response.status, response.read().decode())
        except HTTPError as error:
            return Page(error.url, error.code, error.read().decode(errors="replace"))

    def get(self, url: str, headers: dict[str, str] | None = None) -> Page:
        return self.open(Request(urljoin(SITE, url), headers=headers or {}))

    def page(self, url: str) -> Page:
        """A page that must answer 200."""
        page = self.get(url)
        check(page.status == 200, f"GET {url}: {page.summary()}")
        return page

    def submit(self, page: Page, form: Form, **values: str) -> Page:
        check(form.method == "post", f"a POST form on {page.summary()}")
        data = urlencode({**form.fields, **values}).encode()
        action = urljoin(page.url, form.action)
        result = self.open(Request(action, data=data, headers={"Origin": ORIGIN}))
        check(result.status == 200, f"POST {urlsplit(action).path}: {result.summary()}")
        return result

    def sign_in(self, url: str, email: str) -> Page:
        page = self.page(url)
        signed_in = self.submit(page, page.form(password=""), username=email, password=PASSWORD)
        check(
            "password" not in {name for f in signed_in.parsed.forms for name in f.fields},
            f"{email} signs in at {url}: the sign-in form came back ({signed_in.summary()})",
        )
        return signed_in


# --- The steps ---------------------------------------------------------------------------------


def fresh_database() -> None:
    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    check(
        url.scheme in ("postgres", "postgresql") and "smoke" in name,
        f"SMOKE_DATABASE_URL must name a PostgreSQL database with 'smoke' in its name (it is "
        f"dropped), not {name!r}",
    )
    maintenance = urlunsplit(url._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        raise Failure(f"PostgreSQL is not reachable for {name} ({error})") from error


def empty_redis() -> None:
    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=5).flushdb()
    except redis.RedisError as error:
        raise Failure(f"Redis is not reachable at {REDIS_URL} ({error})") from error


def port_is_free() -> None:
    with socket.socket() as probe:
        probe.settimeout(1)
        taken = probe.connect_ex(("127.0.0.1", PORT)) == 0
    check(not taken, f"something already listens on 127.0.0.1:{PORT}; choose SMOKE_PORT")


def environment() -> dict[str, str]:
    """Production settings for this node: DEBUG off, HTTPS expected from the proxy."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        PYTHON=PYTHON,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=DATABASE_URL,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        # Behind the TLS proxy, which overwrites X-Forwarded-Proto: the settings believe it only
        # when told to (README, Security).
        TRUST_PROXY_HEADERS="1",
        Q_BROKER_URL=REDIS_URL,
        CACHE_URL=REDIS_URL,
        Q_WORKERS=str(WORKERS_PER_QCLUSTER),
        METRICS_TOKEN=secrets.token_urlsafe(32),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        REFUND_UNDO_SECONDS=str(UNDO_SECONDS),
        SERVE_STOP_SECONDS=str(STOP_SECONDS),
    )
    return env


def manage(env: dict[str, str], logs: Path, *args: str) -> None:
    log = logs / f"manage-{args[0]}.log"
    with log.open("wb") as out:
        try:
            result = subprocess.run(
                [PYTHON, "manage.py", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=MANAGE_SECONDS,
            )
        except subprocess.TimeoutExpired as error:
            raise Failure(f"manage.py {args[0]} took more than {MANAGE_SECONDS} s") from error
    check(result.returncode == 0, f"manage.py {' '.join(args)} exited with {result.returncode}")


def wait_until_ready(services: list[Service]) -> dict:
    """/health/ready's JSON once it answers 200 (gunicorn starts after collectstatic, and the
    heartbeat comes with the first pass of a worker's scheduler, 30 s after it starts)."""
    probe = Browser()
    deadline = time.monotonic() + READY_SECONDS
    last = "gunicorn never answered"
    while time.monotonic() < deadline:
        for service in services:
            status = service.process.poll()
            check(status is None, f"{service.name} exited with {status} before it was ready")
        try:
            ready = probe.get("/health/ready")
        except (OSError, http.client.HTTPException) as error:
            last = f"gunicorn did not answer ({error})"
        else:
            if ready.status == 200:
                return json.loads(ready.text)
            last = f"{ready.status} {ready.text}"
        time.sleep(1)
    raise Failure(f"/health/ready did not answer 200 within {READY_SECONDS} s; last: {last}")


def check_the_processes(web: Service, workers: list[Service]) -> None:
    """gunicorn runs WEB_PROCESSES workers; each qcluster its sentinel, workers, monitor, pusher."""
    gunicorn = web.main_process("gunicorn")
    check(gunicorn, "scripts/serve web runs gunicorn")
    check(
        wait_until(lambda: len(children(gunicorn)) == WEB_PROCESSES, 30),
        f"gunicorn runs {WEB_PROCESSES} workers, not {len(children(gunicorn))}",
    )
    # scripts/serve, qcluster, its sentinel, monitor, pusher and workers
    expected = 2 + 3 + WORKERS_PER_QCLUSTER
    for worker in workers:
        check(worker.main_process("qcluster"), f"{worker.name}: scripts/serve worker runs qcluster")
        session = worker.pid
        check(
            wait_until(lambda session=session: len(in_session(session)) == expected, 30),
            f"{worker.name}: {expected} processes (scripts/serve, qcluster and its "
            f"{expected - 2}), not {[command_line(pid) for pid in in_session(session)]}",
        )


def scrape(token: str) -> dict[tuple[str, tuple], float]:
    """/metrics: {(sample name, sorted labels): value}; it must refuse a missing token first."""
    anonymous = Browser()
    refused = anonymous.get("/metrics")
    check(refused.status == 401, f"/metrics without the token: {refused.status}, not 401")
    page = anonymous.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    check(page.status == 200, f"/metrics with the token: {page.summary()}")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
    }


def metric(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    check(key in samples, f"/metrics serves {name}{labels or ''}")
    return samples[key]


def approved_by_review(samples: dict[tuple[str, tuple], float]) -> float:
    key = ("refunds_decisions_total", (("kind", "review"), ("outcome", "approved")))
    return samples.get(key, 0.0)


@dataclass
class Credits:
    """The pro's Credits page: the balance, and the lines that name the customer."""

    balance: Decimal
    refunds: list[str]  # the customer's items under Refunds
    ledger: list[str]  # the customer's rows under Balance history: the lead, then its refund


def credits_page(pro: Browser) -> Credits:
    page = pro.page("/credits/")
    balance = re.search(r'data-testid="balance">\$(-?[\d,]+\.\d\d)<', page.text)
    check(balance, f"the Credits page shows the balance ({page.summary()})")
    refunds, _, ledger = page.text.partition('id="ledger-title"')
    return Credits(
        balance=Decimal(balance.group(1).replace(",", "")),
        refunds=[item for item in refunds.split("<li")[1:] if CUSTOMER in item],
        ledger=[row for row in ledger.split("<tr")[1:] if CUSTOMER in row],
    )


def report_the_lead(pro: Browser) -> None:
    """Marketing → Messages → the lead → ⋮ → Report, as the pro does it."""
    messages = pro.page("/messages/")
    thread = pro.page(messages.link(CUSTOMER))
    report = pro.page(thread.link("Report", exact=True))
    form = report.form(reason="")
    check(REASON in form.choices["reason"], f"the report form offers {REASON}")
    done = pro.submit(
        report, form, reason=REASON, details="His number reaches someone else. (smoke test)"
    )
    check(
        "Your refund request is in" in done.text,
        f"the report is taken for review ({done.summary()})",
    )


def approve_the_request(reviewer: Browser) -> Decimal:
    """The back office: search the list for the customer, open the request, Approve."""
    found = reviewer.page("/admin/refunds/refundrequest/?" + urlencode({"q": CUSTOMER}))
    request_page = reviewer.page(found.link(CUSTOMER))
    approve = request_page.form(transition="approve")
    label = " ".join(approve.buttons)
    price = re.search(r"credit \$([\d,]+\.\d\d)", label)
    check(price, f"the Approve button names the credit ({label!r})")
    done = reviewer.submit(request_page, approve)
    check(
        re.search(r"Approved request #\d+", done.text),
        f"the approval is confirmed ({done.summary()})",
    )
    return Decimal(price.group(1).replace(",", ""))


def wait_for_the_credit(pro: Browser) -> Credits:
    """The Credits page once the refund shows as added to the balance, read again: the page
    reads the balance before the list of refunds, so the read that first shows it posted may
    have summed the ledger just before the credit's transaction committed."""
    deadline = time.monotonic() + CREDIT_SECONDS
    while True:
        credits = credits_page(pro)
        if any("Added to balance" in item for item in credits.refunds):
            return credits_page(pro)
        check(
            time.monotonic() < deadline,
            f"the credit is not on the pro's Credits page within {CREDIT_SECONDS} s "
            f"(refunds listed for {CUSTOMER}: {len(credits.refunds)}, still processing)",
        )
        time.sleep(1)


def log_problems(services: list[Service]) -> list[str]:
    """Errors with a traceback, gunicorn's errors (a worker timed out, failed to boot) and 5xx
    answers.

    Not every ERROR line: the demo data holds a credit whose card issuer never answers, and the
    worker logs it giving up, as it should. Nor every traceback: a failing health check logs
    its reason at WARNING with one, as the heartbeat's does until the first one is written.
    """
    problems = []
    for service in services:
        for line in service.log_lines():
            error = re.search(r'"level": "(ERROR|CRITICAL)"', line) and '"exc_info"' in line
            traceback = error or line.startswith("Traceback")
            gunicorn = re.search(r"\] \[(ERROR|CRITICAL)\] ", line)
            # gunicorn's access line ("GET /path HTTP/1.1" 502 ...) or the app's ("status": 500)
            answer = re.search(r'(HTTP/1\.\d" |"status": )5\d\d\b', line)
            if traceback or gunicorn or (answer and "/health/ready" not in line):
                problems.append(f"{service.name}: {line[:300]}")
    return problems


def run(services: list[Service], env: dict[str, str], logs: Path) -> None:
    port_is_free()
    empty_redis()
    fresh_database()
    manage(env, logs, "migrate", "--noinput", "-v0")
    manage(env, logs, "seed_demo")
    say(f"database {urlsplit(DATABASE_URL).path[1:]} migrated, demo data loaded")

    metrics_dir = logs / "prometheus"
    metrics_dir.mkdir()
    web_env = dict(
        env,
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        WEB_CONCURRENCY=str(WEB_PROCESSES),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    web = Service("web", "web", web_env, logs)
    services.append(web)
    # The other nodes start with SERVE_MIGRATE=0, as README says; the web node migrates.
    workers = [
        Service(f"worker{n}", "worker", dict(env, SERVE_MIGRATE="0"), logs)
        for n in range(1, QCLUSTERS + 1)
    ]
    services.extend(workers)
    say(f"started scripts/serve web (pid {web.pid}) and worker × {QCLUSTERS}")

    ready = wait_until_ready(services)
    say(f"/health/ready: 200 {json.dumps(ready)}")
    live = Browser().get("/health/live")
    check(live.status == 200, f"/health/live: {live.summary()}")
    check_the_processes(web, workers)
    say(f"gunicorn with {WEB_PROCESSES} workers, {QCLUSTERS} qclusters on {REDIS_URL}")

    token = env["METRICS_TOKEN"]
    before = scrape(token)
    open_before = metric(before, "refunds_open_requests")
    failed_before = metric(before, "refunds_worker_failed_tasks")

    pro = Browser()
    pro.sign_in("/login/", PRO)
    start = credits_page(pro)
    check(not start.refunds, f"no refund for {CUSTOMER} yet")
    report_the_lead(pro)
    say(f"{PRO} reported {CUSTOMER}'s lead")
    reported = scrape(token)
    check(
        metric(reported, "refunds_open_requests") == open_before + 1,
        f"refunds_open_requests goes from {open_before:g} to {open_before + 1:g}, "
        f"not {metric(reported, 'refunds_open_requests'):g}",
    )

    reviewer = Browser()
    reviewer.sign_in("/admin/login/?next=/admin/", REVIEWER)
    price = approve_the_request(reviewer)
    say(f"{REVIEWER} approved it (${price}); waiting for the credit")

    paid = wait_for_the_credit(pro)
    new_lines = [row for row in paid.ledger if row not in start.ledger]
    check(
        len(paid.refunds) == 1 and len(new_lines) == 1 and f"+${price}" in new_lines[0],
        f"one refund and one new balance line (+${price}) for {CUSTOMER}, not "
        f"{len(paid.refunds)} and {len(new_lines)}",
    )
    check(
        paid.balance == start.balance + price,
        f"the balance goes from ${start.balance} to ${start.balance + price}, not ${paid.balance}",
    )
    say(f"credited once: balance ${start.balance} → ${paid.balance}")

    after = scrape(token)
    checks = {
        "refunds_open_requests": (metric(after, "refunds_open_requests"), open_before),
        "refunds_decisions_total{approved, review}": (
            approved_by_review(after),
            approved_by_review(before) + 1,
        ),
        "refunds_worker_failed_tasks": (
            metric(after, "refunds_worker_failed_tasks"),
            failed_before,
        ),
    }
    for name, (got, expected) in checks.items():
        check(got == expected, f"{name} is {got:g} after the credit, not {expected:g}")
    heartbeat = metric(after, "refunds_worker_heartbeat_age_seconds")
    check(heartbeat < 120, f"refunds_worker_heartbeat_age_seconds is {heartbeat:g}")
    check(
        any(name.startswith("django_http_responses_total_by_status") for name, _ in after),
        "/metrics serves django-prometheus's response counts",
    )
    say("/metrics: the open request counted, then the approval; no failed task")


def stop_all(services: list[Service]) -> list[str]:
    for service in services:
        service.signal()
    return [problem for service in services for problem in service.stopped()]


def tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line[:400]}" for line in text)


def interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> int:
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    logs = Path(tempfile.mkdtemp(prefix="refunds-smoke-"))
    env = environment()
    services: list[Service] = []
    failures: list[str] = []
    try:
        run(services, env, logs)
    except Failure as failure:
        failures.append(str(failure))
    except Interrupted as signalled:
        failures.append(f"interrupted by {signalled}")
    except Exception:
        failures.append(f"the smoke test itself broke:\n{traceback.format_exc()}")
    finally:
        # Whatever happened, everything started is stopped; a second signal waits for that.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if services:
            say("stopping every scripts/serve with SIGTERM")
            failures += stop_all(services)
    if not failures:
        failures += log_problems(services)
    if not failures:
        try:
            manage(env, logs, "audit_refunds")
        except Failure as failure:
            failures.append(str(failure))
    if services:
        try:
            empty_redis()
        except Failure as failure:
            failures.append(str(failure))

    if failures:
        for path in sorted(logs.glob("*.log")):
            print(f"--- the end of {path}", file=sys.stderr)
            print(tail(path), file=sys.stderr)
        kept = f" (the logs are in {logs})" if any(logs.glob("*.log")) else ""
        print(f"smoke: FAILED{kept}", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        if not kept:
            shutil.rmtree(logs)
        return 1
    shutil.rmtree(logs)
    say("passed: every process stopped, nothing left running, audit_refunds clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
