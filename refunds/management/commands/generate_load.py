"""Generate a marketplace-sized data set for the benchmarks: `manage.py generate_load --leads N`.

Markets, pros (about one per hundred leads, plus one large pro with 5,000 leads), categories,
leads over the last 120 days with threads averaging eight messages (a long tail past 200),
contact attempts, and about 8% of leads reported, in every state with consistent decisions,
credits, disputes and events. A few pros report far more than their peers, so the automatic
denial has work to do.

Rows are streamed in chunks: PostgreSQL takes them with COPY, SQLite with executemany. The
whole data set is never in memory. The same --seed gives the same data.
"""

from __future__ import annotations

import json
import queue
import random
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import InboxMessage, LedgerEntry, Market, ProProfile, ServiceCategory, User
from leads.models import ContactAttempt, Lead, Message
from refunds import policy
from refunds.choices import Reason, Status
from refunds.models import Credit, Decision, Dispute, RefundEvent, RefundRequest

CHUNK = 5_000
DAYS = 120
BIG_PRO_LEADS = 5_000
REPORT_RATE = 0.08
HIGH_RATE_SHARE = 0.02
HIGH_RATE = 0.40

CATEGORY_NAMES = [
    "Plumbing",
    "Electrical",
    "Roofing",
    "House cleaning",
    "Landscaping",
    "Painting",
    "HVAC repair",
    "Water heater repair",
    "Drain cleaning",
    "Handyman",
    "Flooring",
    "Pest control",
    "Moving",
    "Carpentry",
    "Appliance repair",
    "Window cleaning",
    "Fencing",
    "Gutter cleaning",
    "Pressure washing",
    "Tree service",
]
CITIES = [
    ("Austin, TX", "US"),
    ("Denver, CO", "US"),
    ("Portland, OR", "US"),
    ("Atlanta, GA", "US"),
    ("Phoenix, AZ", "US"),
    ("Chicago, IL", "US"),
    ("Seattle, WA", "US"),
    ("Boston, MA", "US"),
]
FIRST = ["Ana", "Ben", "Chloe", "Diego", "Emma", "Farah", "Grace", "Hassan", "Ivy", "Jon", "Kai"]
LAST = ["Adams", "Brooks", "Chen", "Diaz", "Evans", "Flores", "Garcia", "Hughes", "Ito", "Kim"]
CUSTOMER_LINES = [
    "Hi, are you available this week?",
    "Can you give me a rough price?",
    "Thanks, that time works for me.",
    "We already found someone, sorry.",
    "Could you come on Saturday instead?",
    "The problem started two days ago.",
    "Here is the address: it's the blue house on the corner.",
]
PRO_LINES = [
    "Hi! Thanks for the request. I can come by tomorrow morning.",
    "The estimate depends on what I find, but usually it's around $150.",
    "Just following up: are you still looking for help?",
    "I tried calling, please call me back when you can.",
    "Great, see you then.",
]
SYSTEM_LINES = ["The customer viewed your quote.", "The customer opened your message."]

OPEN_STATES = [Status.SUBMITTED] * 6 + [Status.IN_REVIEW] * 2 + [Status.REVIEWED]
CLOSED_STATES = (
    [Status.CREDITED] * 9 + [Status.DENIED] * 8 + [Status.DISPUTED] * 2 + [Status.WITHDRAWN] * 2
)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Writer:
    """Appends rows to tables, with explicit ids, by COPY (PostgreSQL) or executemany.

    On PostgreSQL a second thread with its own connection sends the COPY data while this
    thread builds the next chunk, so Python and the database work on both cores at once.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.next_ids: dict[type[models.Model], int] = {}
        self.counts: dict[str, int] = {}
        self.layouts: dict[type[models.Model], tuple] = {}
        self.failure: BaseException | None = None
        if self.postgres:
            self.outbox: queue.Queue = queue.Queue(maxsize=4)
            self.sender = threading.Thread(target=self._send, daemon=True)
            self.sender.start()

    def _send(self) -> None:
        from django.db import connections

        db = connections["default"]  # this thread's own connection, in autocommit
        cursor = None
        try:
            while (item := self.outbox.get()) is not None:
                try:
                    if self.failure is None:
                        cursor = cursor or self._bulk_cursor(db)
                        statement, payload = item
                        with cursor.cursor.copy(statement) as copy:
                            copy.write(payload)
                except BaseException as error:  # reported to the main thread at its next write
                    self.failure = error
                finally:
                    self.outbox.task_done()
            self.outbox.task_done()
        finally:
            db.close()

    @staticmethod
    def _bulk_cursor(db):
        cursor = db.cursor()
        # A bulk load of rows consistent by construction: skip per-row foreign-key triggers
        # (superusers only) and do not wait for each commit to reach the disk.
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET session_replication_role = replica")
        return cursor

    def reserve(self, model: type[models.Model]) -> None:
        last = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
        self.next_ids[model] = last + 1

    def new_id(self, model: type[models.Model]) -> int:
        value = self.next_ids[model]
        self.next_ids[model] = value + 1
        return value

    def _layout(self, model: type[models.Model]) -> tuple:
        if model not in self.layouts:
            fields = list(model._meta.concrete_fields)
            defaults = {}
            for f in fields:
                if f.has_default():
                    defaults[f.attname] = f.get_default()
                elif f.null:
                    defaults[f.attname] = None
                elif f.blank and isinstance(f, models.CharField | models.TextField):
                    defaults[f.attname] = ""
            names = [f.attname for f in fields]
            json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
            table = connection.ops.quote_name(model._meta.db_table)
            quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            self.layouts[model] = (names, defaults, json_at, table, quoted)
        return self.layouts[model]

    def write(self, model: type[models.Model], rows: list[dict]) -> None:
        if not rows:
            return
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure
        names, defaults, json_at, table, quoted = self._layout(model)

        def values(row: dict) -> list:
            out = [row[name] if name in row else defaults[name] for name in names]
            for i in json_at:
                out[i] = json.dumps(out[i])
            return out

        if self.postgres:
            # Text COPY, formatted here: several times faster than write_row per row.
            payload = "".join(
                "\t".join([_copy_text(v) for v in values(row)]) + "\n" for row in rows
            ).encode()
            self.outbox.put((f"COPY {table} ({quoted}) FROM STDIN", payload))
        else:
            marks = ", ".join(["%s"] * len(names))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
                    [tuple(values(r)) for r in rows],
                )
        self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + len(rows)

    def flush(self) -> None:
        """Wait until the rows written so far are committed, leaving the sender running."""
        if self.postgres:
            self.outbox.join()
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure

    def drain(self) -> None:
        """Wait until everything written so far is in the database."""
        if not self.postgres:
            return
        self.outbox.put(None)
        self.sender.join()
        if self.failure is not None:
            raise CommandError(f"Loading failed: {self.failure}") from self.failure

    def drop_indexes(self, models_: list[type[models.Model]]) -> list[str]:
        """Drop the plain (non-unique) indexes of big tables; returns how to recreate them."""
        tables = [m._meta.db_table for m in models_]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.tablename = ANY(%s) AND NOT x.indisunique",
                [tables],
            )
            found = cursor.fetchall()
            for name, _ in found:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        return [definition for _, definition in found]

    def create_indexes(self, definitions: list[str], models_: list[type[models.Model]]) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for definition in definitions:
                cursor.execute(definition)
            for model in models_:
                # As autovacuum would leave a settled table: statistics and a visibility map,
                # so counts can be answered from indexes.
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM (ANALYZE) {table}")

    def finish(self) -> None:
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for model in self.next_ids:
                table = model._meta.db_table
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}))",
                    [table],
                )
            # Fresh statistics for the small tables too (users, profiles, markets): without
            # them the planner guesses, and autovacuum may be off or minutes away.
            cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = "Generate a large data set for the benchmarks (PostgreSQL; SQLite for small sizes)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, required=True, help="How many leads to create.")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed (same seed, same data)."
        )
        parser.add_argument("--quiet", action="store_true", help="No progress output.")

    def handle(self, *args, leads: int, seed: int, quiet: bool, **options) -> None:
        if leads < 100:
            raise CommandError("--leads must be at least 100")
        if connection.vendor == "sqlite" and leads > 200_000:
            raise CommandError("Use PostgreSQL (DATABASE_URL) for more than 200,000 leads")
        self.rng = random.Random(seed)
        self.quiet = quiet
        self.now = timezone.now().replace(microsecond=0)
        self.params = policy.Params()
        started = time.monotonic()
        self.writer = Writer()
        with transaction.atomic():
            self._setup(leads, seed)
        big_tables = [Lead, Message, ContactAttempt, RefundRequest, RefundEvent]
        # Maintaining indexes row by row costs more than building them once at the end.
        rebuild = self.writer.drop_indexes(big_tables) if self.writer.postgres else []
        try:
            self._leads(leads)
            self.writer.drain()
        finally:
            if rebuild and not quiet:
                self.stderr.write(f"  rebuilding {len(rebuild)} indexes")
            self.writer.create_indexes(rebuild, big_tables) if self.writer.postgres else None
        self.writer.finish()
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{n:,} {label}" for label, n in sorted(self.writer.counts.items()))
        self.stdout.write(f"Generated in {elapsed:.1f}s: {summary}")

    # Reference data: markets, categories, pros, reviewers

    def _setup(self, total_leads: int, seed: int) -> None:
        rng = self.rng
        self.categories = [
            ServiceCategory.objects.get_or_create(
                slug=f"load-{name.lower().replace(' ', '-')}", defaults={"name": f"{name} (load)"}
            )[0].pk
            for name in CATEGORY_NAMES
        ]
        n_pros = max(10, total_leads // 100)
        n_markets = max(2, min(len(CITIES) * 8, n_pros // 150))
        self.markets = [
            Market.objects.get_or_create(
                name=f"{CITIES[i % len(CITIES)][0]} #{i // len(CITIES) + 1} (load {seed})",
                defaults={"country_code": "US"},
            )[0].pk
            for i in range(n_markets)
        ]
        w = self.writer
        for model in (
            User,
            ProProfile,
            Lead,
            Message,
            ContactAttempt,
            RefundRequest,
            Decision,
            Credit,
            Dispute,
            RefundEvent,
            LedgerEntry,
            InboxMessage,
        ):
            w.reserve(model)
        pro_group = Group.objects.get(name=Role.PRO.value).pk
        reviewer_group = Group.objects.get(name=Role.REVIEWER.value).pk
        tag = f"{seed}-{w.next_ids[User]}"

        users, profiles, groups, cats = [], [], [], []
        self.reviewers = []
        for i in range(5):
            uid = w.new_id(User)
            self.reviewers.append(uid)
            users.append(self._user(uid, f"reviewer{i}-{tag}@load.test", staff=True))
            groups.append({"id": None, "user_id": uid, "group_id": reviewer_group})
        self.pros: list[tuple[int, int, float]] = []  # (user id, market id, report rate)
        self.market_of: dict[int, int] = {}
        for i in range(n_pros):
            uid = w.new_id(User)
            market = self.markets[i % len(self.markets)]
            rate = (
                HIGH_RATE
                if rng.random() < HIGH_RATE_SHARE
                else (REPORT_RATE - HIGH_RATE_SHARE * HIGH_RATE) / (1 - HIGH_RATE_SHARE)
            )
            self.pros.append((uid, market, rate))
            self.market_of[uid] = market
            users.append(self._user(uid, f"pro{i}-{tag}@load.test"))
            groups.append({"user_id": uid, "group_id": pro_group})
            pid = w.new_id(ProProfile)
            profiles.append(
                {
                    "id": pid,
                    "user_id": uid,
                    "business_name": f"Load Pro {i}",
                    "market_id": market,
                    "service_area": "Downtown, Uptown",
                }
            )
            for cat in rng.sample(self.categories, 3):
                cats.append({"proprofile_id": pid, "servicecategory_id": cat})
        w.write(User, users)
        w.write(ProProfile, profiles)
        w.flush()  # the many-to-many rows below refer to these users and profiles
        self._through(User.groups.through, groups)
        self._through(ProProfile.categories.through, cats)
        self.big_pro = self.pros[0][0]

    def _user(self, uid: int, email: str, staff: bool = False) -> dict:
        return {
            "id": uid,
            "email": email,
            "password": "!",
            "is_staff": staff,
            "is_active": True,
            "is_superuser": False,
            "first_name": "",
            "last_name": "",
            "date_joined": self.now,
        }

    def _through(self, model, rows: list[dict]) -> None:
        for row in rows:
            row.pop("id", None)
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)

    # Leads and everything hanging off them, chunk by chunk

    def _leads(self, total: int) -> None:
        big = min(BIG_PRO_LEADS, total // 4)
        done = 0
        started = time.monotonic()
        while done < total:
            size = min(CHUNK, total - done)
            with transaction.atomic():
                self._chunk(done, size, big)
            done += size
            if not self.quiet:
                rate = done / max(time.monotonic() - started, 1e-6)
                sys.stderr.write(f"\r  {done:,}/{total:,} leads ({rate:,.0f}/s)")
        if not self.quiet:
            sys.stderr.write("\n")

    def _chunk(self, start: int, size: int, big: int) -> None:
        rng, w, now = self.rng, self.writer, self.now
        leads, messages, attempts = [], [], []
        requests, decisions, credits, disputes, events, ledger = [], [], [], [], [], []
        self.notices: list[dict] = []
        for n in range(start, start + size):
            if n < big:
                pro, market, rate = self.pros[0]
            else:
                pro, market, rate = self.pros[rng.randrange(1, len(self.pros))]
            lid = w.new_id(Lead)
            # The request page benchmark needs reported leads with 200-message threads.
            long_thread = n == start and start // CHUNK % 20 == 0
            received = now - timedelta(seconds=rng.randrange(DAYS * 86400))
            phone = f"+1 555 01{rng.randrange(100):02d} {rng.randrange(10000):04d}"
            price = Decimal(rng.choice(("18.00", "24.50", "29.00", "35.00", "42.00")))
            paid = "card" if rng.random() < 0.4 else "balance"
            leads.append(
                {
                    "id": lid,
                    "marketplace_id": f"load-long-{lid}" if long_thread else f"load-{lid}",
                    "pro_id": pro,
                    "customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "customer_phone": phone,
                    "customer_email": f"customer{lid}@example.com",
                    "category_id": rng.choice(self.categories),
                    "location": "Downtown",
                    "request_text": "Looking for help with a job at home this week.",
                    "price": price,
                    "payment_method": paid,
                    "received_at": received,
                }
            )
            count = self._thread_length(long_thread)
            t = received
            lead_attempts = []
            for k in range(count):
                t = min(t + timedelta(minutes=rng.randrange(5, 600)), now)
                sender = "customer" if k == 0 else rng.choice(("pro", "customer", "pro", "system"))
                body = rng.choice(
                    PRO_LINES
                    if sender == "pro"
                    else CUSTOMER_LINES
                    if sender == "customer"
                    else SYSTEM_LINES
                )
                messages.append(
                    {
                        "id": w.new_id(Message),
                        "lead_id": lid,
                        "sender": sender,
                        "body": body,
                        "sent_at": t,
                    }
                )
                if sender == "pro":
                    lead_attempts.append(("message", "delivered", t))
            for _ in range(rng.choice((0, 1, 1, 2))):
                at = min(received + timedelta(minutes=rng.randrange(10, 3000)), now)
                lead_attempts.append(
                    ("phone", rng.choice(("no_answer", "voicemail", "answered")), at)
                )
            for channel, outcome, at in lead_attempts:
                attempts.append(
                    {
                        "id": w.new_id(ContactAttempt),
                        "lead_id": lid,
                        "channel": channel,
                        "outcome": outcome,
                        "attempted_at": at,
                    }
                )
            if long_thread or rng.random() < rate:
                self._request(
                    lid,
                    pro,
                    received,
                    price,
                    paid,
                    lead_attempts,
                    rate,
                    long_thread,
                    requests,
                    decisions,
                    credits,
                    disputes,
                    events,
                    ledger,
                )
        w.write(Lead, leads)
        w.write(Message, messages)
        w.write(ContactAttempt, attempts)
        w.write(RefundRequest, requests)
        w.write(InboxMessage, self.notices)
        w.write(Decision, decisions)
        w.write(LedgerEntry, ledger)
        w.write(Credit, credits)
        w.write(Dispute, disputes)
        w.write(RefundEvent, events)

    def _thread_length(self, long_thread: bool) -> int:
        r = self.rng.random()
        if long_thread or r < 0.0005:
            return self.rng.randrange(200, 320)
        if r < 0.02:
            return self.rng.randrange(20, 80)
        return self.rng.randrange(1, 14)

    def _request(
        self,
        lid,
        pro,
        received,
        price,
        paid,
        lead_attempts,
        rate,
        force_open,
        requests,
        decisions,
        credits,
        disputes,
        events,
        ledger,
    ) -> None:
        rng, w, now, p = self.rng, self.writer, self.now, self.params
        age = now - received
        latest = min(received + timedelta(days=14), now)
        submitted = received + (latest - received) * rng.random()
        if force_open or (age < timedelta(days=30) and rng.random() < 0.75):
            status = Status.SUBMITTED if force_open else rng.choice(OPEN_STATES)
            # A backlog: recent requests still open, some past their due time.
        else:
            status = rng.choice(CLOSED_STATES)
        reason = rng.choice(Reason.values)
        effort = policy.assess_contact_effort(
            [policy.Attempt(c, at) for c, _, at in lead_attempts],
            {"message", "phone"},
            submitted,
            p,
        )
        assessment = {
            "reason": reason,
            "window_open": True,
            "report_deadline": (received + timedelta(days=14)).isoformat(),
            "lead_age_hours": round((submitted - received).total_seconds() / 3600, 1),
            "contact_effort": {
                "attempts": effort.attempts,
                "channels_used": effort.channels_used,
                "channels_available": effort.channels_available,
                "hours_since_first": effort.hours_since_first,
                "enough_attempts": effort.enough_attempts,
                "all_channels_used": effort.all_channels_used,
                "waited_long_enough": effort.waited_long_enough,
                "missing": effort.missing,
                "meets_policy": effort.meets_policy,
            },
            "contact_effort_matters": policy.contact_effort_matters(reason),
            "peers": {
                "pro_requests": 0,
                "pro_leads": 0,
                "pro_rate": rate,
                "peers": 150,
                "market_median": 0.07,
                "market_percentile": 0.14,
                "threshold": 0.14,
                "comparable": True,
                "auto_deny": False,
                "why": f"Refund rate {rate:.0%} against this market's limit of 14%.",
            },
            "duplicate_lead_ids": [],
            "phone_valid": True,
            "email_valid": True,
            "category_offered": True,
            "in_service_area": True,
            "first_response_hours": 0.5,
        }
        rid = w.new_id(RefundRequest)
        decided = submitted + timedelta(hours=rng.uniform(0.5, 30))
        claimed = status == Status.IN_REVIEW
        requests.append(
            {
                "id": rid,
                "lead_id": lid,
                "pro_id": pro,
                "market_id": self.market_of[pro],
                "reason": reason,
                "details": "The customer asked for something else.",
                "status": status,
                "submitted_at": submitted,
                "due_at": policy.review_due(submitted, p),
                "assessment": assessment,
                "claimed_by_id": self.reviewers[0] if claimed else None,
                "claimed_until": now + timedelta(minutes=20) if claimed else None,
                "decided_at": decided if status not in (*OPEN_STATES, Status.WITHDRAWN) else None,
            }
        )
        trail = [("submit", "", Status.SUBMITTED, None, submitted)]
        if status == Status.IN_REVIEW:
            trail.append(("claim", Status.SUBMITTED, Status.IN_REVIEW, self.reviewers[0], decided))
        if status == Status.WITHDRAWN:
            trail.append(("withdraw", Status.SUBMITTED, Status.WITHDRAWN, pro, decided))
        reviewer = rng.choice(self.reviewers)
        if status == Status.REVIEWED or status == Status.CREDITED:
            decisions.append(
                self._decision(rid, "approved", reviewer, decided, pro, status == Status.CREDITED)
            )
            trail.append(("approve", Status.SUBMITTED, Status.REVIEWED, reviewer, decided))
        if status in (Status.REVIEWED, Status.CREDITED):
            posted = status == Status.CREDITED
            entry = None
            if posted and paid == "balance":
                entry = w.new_id(LedgerEntry)
                ledger.append(
                    {
                        "id": entry,
                        "pro_id": pro,
                        "kind": "refund",
                        "amount": price,
                        "memo": f"Refund (request #{rid})",
                        "created_at": decided,
                    }
                )
            credits.append(
                {
                    "id": w.new_id(Credit),
                    "request_id": rid,
                    "amount": price,
                    "method": paid,
                    "status": "posted" if posted else "pending",
                    "created_at": decided,
                    "posted_at": decided if posted else None,
                    "attempts": int(posted),
                    "ledger_entry_id": entry,
                    "gateway_reference": f"load_{rid}" if posted and paid == "card" else "",
                }
            )
        if status == Status.CREDITED:
            trail.append(("credit_posted", Status.REVIEWED, Status.CREDITED, None, decided))
        if status in (Status.DENIED, Status.DISPUTED):
            decisions.append(self._decision(rid, "denied", reviewer, decided, pro, True))
            trail.append(("deny", Status.SUBMITTED, Status.REVIEWED, reviewer, decided))
            trail.append(("denial_sent", Status.REVIEWED, Status.DENIED, None, decided))
        if status == Status.DISPUTED:
            opened = decided + timedelta(hours=rng.uniform(1, 48))
            disputes.append(
                {
                    "id": w.new_id(Dispute),
                    "request_id": rid,
                    "message": "The customer clearly asked for a different job.",
                    "opened_at": opened,
                    "due_at": policy.dispute_due(opened, policy.Params()),
                    "status": "open",
                }
            )
            trail.append(("dispute", Status.DENIED, Status.DISPUTED, pro, opened))
        for action, before, after, actor, at in trail:
            events.append(
                {
                    "id": w.new_id(RefundEvent),
                    "request_id": rid,
                    "actor_id": actor,
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "created_at": at,
                }
            )

    def _decision(self, rid: int, outcome: str, reviewer: int, at, pro: int, told: bool) -> dict:
        denied = outcome == "denied"
        notice = None
        if told:
            notice = self.writer.new_id(InboxMessage)
            self.notices.append(
                {
                    "id": notice,
                    "recipient_id": pro,
                    "created_at": at,
                    "emailed_at": at,
                    "read_at": at if self.rng.random() < 0.7 else None,
                    "subject": "Refund declined" if denied else "Refund approved",
                    "body": "About your refund request.",
                }
            )
        return {
            "notice_id": notice,
            "id": self.writer.new_id(Decision),
            "request_id": rid,
            "outcome": outcome,
            "kind": "review",
            "decided_by_id": reviewer,
            "decided_at": at,
            "explanation": "The lead matched your categories and area." if denied else "",
            "guidance": "Report only leads that fail the policy." if denied else "",
        }
