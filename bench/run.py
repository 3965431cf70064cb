#!/usr/bin/env python
"""Benchmarks at marketplace scale: python bench/run.py --leads N  |  --scale A,B

Loads (or reuses) a data set of N leads in DATABASE_URL with `manage.py generate_load`, then
measures, each over repeated runs, the median and p95 time and the query count of:

  queue           the reviewers' queue, default view, first page
  queue_filtered  the queue filtered by reason and market
  request_page    a request page whose thread has 200+ messages
  pro_messages    Messages for the pro with 5,000 leads
  home            the back office's home (the work's counts) for a reviewer
  metrics         the Prometheus scrape, /metrics with the token (the work's gauges)
  start_reviewing Start reviewing: claim the queue's most urgent free request and open it
                  (rolled back after each run)
  analytics       Analytics → Review promise for the last 90 days, all markets (its closed-out
                  days from the daily roll-ups and their quarter-hour histograms, rebuilt after
                  generating, as the worker keeps them; today and yesterday live)
  report_submit   a report submission through the page (rolled back after each run)
  peer_stats      the market peer-statistics job over all markets
  stock_queue     the same queue list from a plain ModelAdmin on Django's defaults (the baseline)
  bare_list       the bare registration, admin.site.register(RefundRequest) (for reference)

plus the web process's peak memory and the worker's time and peak memory for 10,000 queued
credit and notice tasks. Prints one table and writes it as JSON under bench/results/.
With --scale A,B it grows the data set from A to B leads, measures both, and prints
`growth <measure> <ratio>` (median at B / median at A), `baseline queue_vs_stock <ratio>` and
`baseline queue_vs_bare <ratio>` (each baseline's median over the queue's, at B).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
import warnings
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("METRICS_TOKEN", "benchmark-only-metrics-token-0123456789")
# The worker measure times the credits themselves, not a reviewer's undo window before them.
os.environ.setdefault("REFUND_UNDO_SECONDS", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Min  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.worker import measure_worker, print_worker  # noqa: E402
from leads.models import Lead  # noqa: E402
from refunds import services  # noqa: E402
from refunds.choices import DecisionKind, Reason  # noqa: E402
from refunds.models import (  # noqa: E402
    Decision,
    DecisionTimeRollup,
    PromiseRollup,
    RefundRequest,
    RollupDay,
)

settings.ROOT_URLCONF = "bench.urls"
logging.getLogger("django-q").setLevel(logging.WARNING)
# One access line per request would bury the table (config/logs.py writes them to stdout).
logging.getLogger("refunds.access").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
# Production settings without collectstatic: serve static names unhashed.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEASURES = [
    "queue",
    "queue_filtered",
    "request_page",
    "pro_messages",
    "home",
    "metrics",
    "start_reviewing",
    "analytics",
    "report_submit",
    "peer_stats",
    "stock_queue",
    "bare_list",
]
# The pages whose query count must not change between runs (the run fails if it does).
STABLE_QUERIES = (
    "queue",
    "queue_filtered",
    "request_page",
    "pro_messages",
    "home",
    "metrics",
    "start_reviewing",
    "analytics",
)
RESULTS = ROOT / "bench" / "results"


class Failure(Exception):
    pass


def timed(func, repeat: int, warmup: int = 2) -> dict:
    """Run func warmup + repeat times; time each run and count the queries of each."""
    return timed_together({"it": func}, repeat, warmup)["it"]


def timed_together(funcs: dict, repeat: int, warmup: int = 2) -> dict[str, dict]:
    """Time several measures in turns (one run of each per round) rather than one after the
    other, so that a moment when the machine is busy slows all of them alike instead of
    skewing one measure's median."""
    for _ in range(warmup):
        for func in funcs.values():
            func()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    counts: dict[str, set[int]] = {name: set() for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            # Every alias: with DATABASE_REPLICA_URL the peer statistics read from the replica.
            with ExitStack() as stack:
                captured = [
                    stack.enter_context(CaptureQueriesContext(connections[alias]))
                    for alias in settings.DATABASES
                ]
                started = time.perf_counter()
                func()
                times[name].append((time.perf_counter() - started) * 1000)
            counts[name].add(sum(len(queries) for queries in captured))
    return {name: _summary(times[name], counts[name]) for name in funcs}


def _summary(times: list[float], counts: set[int]) -> dict:
    repeat = len(times)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "queries": max(counts),
        "queries_stable": len(counts) == 1,
        "runs": repeat,
    }


def get_ok(client: Client, url: str):
    def run():
        response = client.get(url)
        if response.status_code != 200:
            raise Failure(f"GET {url} answered {response.status_code}")
        return response

    return run


def ensure_leads(target: int, seed: int) -> None:
    have = Lead.objects.count()
    if have > target:
        raise Failure(
            f"The database already has {have:,} leads, more than {target:,}: "
            "use an empty database or a larger size."
        )
    if have < target:
        print(f"Generating {target - have:,} leads (have {have:,}) ...", flush=True)
        started = time.monotonic()
        call_command("generate_load", leads=target - have, seed=seed + have)
        print(f"  loaded in {time.monotonic() - started:.0f}s", flush=True)


def subjects() -> dict:
    staff = User.objects.filter(email="bench-superuser@load.test").first()
    if staff is None:
        staff = User.objects.create_superuser("bench-superuser@load.test", None)
    reviewer = User.objects.filter(groups__name="reviewer", email__endswith="@load.test").first()
    long_request = (
        RefundRequest.objects.filter(lead__marketplace_id__startswith="load-long-")
        .order_by("-pk")
        .first()
    )
    big_pro = (
        User.objects.filter(email__startswith="pro0-", email__endswith="@load.test")
        .order_by("-pk")
        .first()
    )
    if reviewer is None or long_request is None or big_pro is None:
        raise Failure("The data set has no load reviewer, long thread or large pro")
    market = big_pro.pro_profile.market_id
    return {
        "superuser": staff,
        "reviewer": reviewer,
        "request": long_request,
        "thread_length": long_request.lead.messages.count(),
        "big_pro": big_pro,
        "big_pro_leads": big_pro.leads.count(),
        "market": market,
    }


def reportable_leads(pro: User, count: int) -> list[Lead]:
    """Recent leads of the pro with no request yet, each submitted once and rolled back."""
    since = timezone.now() - timezone.timedelta(days=services.params().report_window_days)
    leads = list(
        Lead.objects.filter(pro=pro, received_at__gte=since, refund_request__isnull=True).order_by(
            "-received_at"
        )[:count]
    )
    if not leads:
        raise Failure("The large pro has no unreported lead in the report window")
    return leads


def measure_pages(repeat: int) -> tuple[dict, dict]:
    s = subjects()
    out: dict[str, dict] = {}
    # Each size starts cold: the queue's once-a-minute statistics are counted in its warm-up
    # and then read from the cache for the timed rounds (a few seconds), as for a reviewer.
    cache.clear()

    print("  peer_stats ...", flush=True)
    out["peer_stats"] = timed(services.compute_peer_stats, max(3, repeat // 3), warmup=1)

    reviewer = Client()
    reviewer.force_login(s["reviewer"])
    queue = "/admin/refunds/refundrequest/"
    filtered = f"{queue}?reason={Reason.WRONG_JOB.value}&market__id__exact={s['market']}"
    pro = Client()
    pro.force_login(s["big_pro"])
    stock = Client()
    stock.force_login(s["superuser"])
    scraper = Client(HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    leads = iter(reportable_leads(s["big_pro"], repeat + 2) * 3)

    def submit():
        lead = next(leads)
        with transaction.atomic():
            response = pro.post(
                f"/messages/{lead.pk}/report/",
                {"reason": Reason.WRONG_JOB.value, "details": "Benchmark submission."},
            )
            if response.status_code != 302:
                raise Failure(f"report submission answered {response.status_code}")
            if not RefundRequest.objects.filter(lead=lead).exists():
                raise Failure("report submission stored no request")
            transaction.set_rollback(True)

    def start_reviewing():
        with transaction.atomic():
            response = reviewer.post(f"{queue}start/", {"_changelist_filters": ""})
            if response.status_code != 302 or "/change/" not in response.url:
                raise Failure(f"Start reviewing answered {response.status_code}")
            opened = reviewer.get(response.url)
            if opened.status_code != 200:
                raise Failure(f"the request Start reviewing opened answered {opened.status_code}")
            transaction.set_rollback(True)

    print("  pages, in turns ...", flush=True)
    out |= timed_together(
        {
            "queue": get_ok(reviewer, queue),
            "queue_filtered": get_ok(reviewer, filtered),
            "request_page": get_ok(reviewer, f"{queue}{s['request'].pk}/change/"),
            "pro_messages": get_ok(pro, "/messages/"),
            "home": get_ok(reviewer, "/admin/"),
            "metrics": get_ok(scraper, "/metrics"),
            "start_reviewing": start_reviewing,
            "analytics": get_ok(reviewer, "/admin/analytics/promise/?range=90"),
            "report_submit": submit,
            "stock_queue": get_ok(stock, "/stock-admin/refunds/refundrequest/"),
            "bare_list": get_ok(stock, "/bare-admin/refunds/refundrequest/"),
        },
        repeat,
    )

    info = {
        "auto_share": auto_share(),
        "thread_length": s["thread_length"],
        "big_pro_leads": s["big_pro_leads"],
        "web_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "report_plan": heaviest_plan(pro, reportable_leads(s["big_pro"], 1)[0]),
    }
    return out, info


def auto_share() -> dict:
    """The share of the data set's requests the automatic-approval rules decided, with the
    rules' default settings (generate_load applies policy.automatic_approval as the service
    does at submission)."""
    requests = RefundRequest.objects.count()
    by_rule = Decision.objects.filter(kind=DecisionKind.AUTO_APPROVAL).count()
    return {
        "requests": requests,
        "approved_by_rule": by_rule,
        "share": round(by_rule / requests, 4) if requests else None,
    }


def heaviest_plan(client: Client, lead: Lead) -> dict:
    """EXPLAIN ANALYZE each SELECT of one report submission; keep the slowest one's plan."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            client.post(f"/messages/{lead.pk}/report/", {"reason": Reason.SPAM.value})
        selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        worst = {"ms": -1.0, "sql": "", "plan": ""}
        if connection.vendor != "postgresql":
            transaction.set_rollback(True)
            return {"note": "plans are printed on PostgreSQL only"}
        with connection.cursor() as cursor:
            for sql in selects:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                ms = float(plan.rsplit("Execution Time:", 1)[1].split()[0])
                if ms > worst["ms"]:
                    worst = {"ms": ms, "sql": sql, "plan": plan}
        transaction.set_rollback(True)
    worst["scans_leads_table"] = "Seq Scan on leads_lead" in worst["plan"]
    return worst


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": connection.vendor,
        "server": connection.cursor().connection.info.server_version
        if connection.vendor == "postgresql"
        else None,
        "platform": platform.platform(),
    }


def print_table(size: int, measures: dict, info: dict) -> None:
    print(
        f"\nLeads: {size:,}   thread: {info['thread_length']} messages   "
        f"large pro: {info['big_pro_leads']:,} leads"
    )
    print(f"{'measure':<16}{'median ms':>11}{'p95 ms':>10}{'queries':>9}")
    for name in MEASURES:
        m = measures[name]
        flag = "" if m["queries_stable"] else " (varies)"
        print(f"{name:<16}{m['median_ms']:>11.1f}{m['p95_ms']:>10.1f}{m['queries']:>9}{flag}")
    print(f"web process peak RSS: {info['web_peak_rss_mb']} MB")
    share = info["auto_share"]
    print(
        f"auto_share {share['share']} ({share['approved_by_rule']:,} of "
        f"{share['requests']:,} requests decided by the rules)"
    )
    plan = info["report_plan"]
    if "plan" in plan:
        verdict = "scans" if plan["scans_leads_table"] else "does not scan"
        print(
            f"report submission {verdict} the leads table; its heaviest query "
            f"({plan['ms']:.2f} ms):\n  {plan['sql'][:300]}"
        )
        print("  " + plan["plan"].replace("\n", "\n  "))


def rebuild_rollups() -> float:
    """The analytics' daily roll-ups over the whole data set, as production keeps them (the
    worker's schedule): generate_load writes history in the past, which only --since reaches."""
    first = RefundRequest.objects.aggregate(first=Min("submitted_at"))["first"]
    if first is None:
        return 0.0
    print("Rebuilding the analytics roll-ups ...", flush=True)
    started = time.monotonic()
    call_command("rebuild_rollups", since=first.date().isoformat(), verbosity=0)
    if connection.vendor == "postgresql":
        # As autovacuum would leave them (generate_load does the same for its tables).
        with connection.cursor() as cursor:
            for model in (RollupDay, PromiseRollup, DecisionTimeRollup):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    took = time.monotonic() - started
    print(f"  rebuilt in {took:.1f}s", flush=True)
    return round(took, 1)


def run_size(size: int, seed: int, repeat: int, worker_tasks: int) -> dict:
    ensure_leads(size, seed)
    rollups_s = rebuild_rollups()
    print(f"Measuring at {size:,} leads ...", flush=True)
    measures, info = measure_pages(repeat)
    info["rollups_rebuild_s"] = rollups_s
    print_table(size, measures, info)
    if worker_tasks:
        info["worker"] = measure_worker(worker_tasks)
        print_worker(info["worker"])
    return {"leads": size, "measures": measures, "info": info}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--leads", type=int, help="measure at this many leads")
    group.add_argument("--scale", help="two sizes, A,B: measure both and print growth ratios")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per measure")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--worker-tasks",
        type=int,
        default=10_000,
        help="tasks for the worker measure at the (last) size; 0 to skip",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    # Production settings keep the cache in the database (scripts/serve makes its table too).
    call_command("createcachetable", verbosity=0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        if args.leads:
            runs = [run_size(args.leads, args.seed, args.repeat, args.worker_tasks)]
        else:
            small, large = (int(x) for x in args.scale.split(","))
            runs = [
                run_size(small, args.seed, args.repeat, 0),
                run_size(large, args.seed, args.repeat, args.worker_tasks),
            ]
    except Failure as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    report = {"when": stamp, "machine": machine(), "runs": runs}
    if len(runs) == 2:
        a, b = (r["measures"] for r in runs)
        print()
        report["growth"] = {}
        for name in MEASURES:
            ratio = b[name]["median_ms"] / a[name]["median_ms"]
            report["growth"][name] = round(ratio, 2)
            print(f"growth {name} {ratio:.2f}")
        for baseline in ("bare", "stock"):  # the spec's baseline line comes last
            name = "stock_queue" if baseline == "stock" else "bare_list"
            ratio = b[name]["median_ms"] / b["queue"]["median_ms"]
            report[f"baseline_queue_vs_{baseline}"] = round(ratio, 2)
            print(f"baseline queue_vs_{baseline} {ratio:.2f}")
    unstable = [
        f"{r['leads']}:{name}"
        for r in runs
        for name in STABLE_QUERIES
        if not r["measures"][name]["queries_stable"]
    ]
    path = RESULTS / f"{stamp}-{'-'.join(str(r['leads']) for r in runs)}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    if unstable:
        print(f"query counts varied between runs: {', '.join(unstable)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
