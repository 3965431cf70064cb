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

import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Role
from accounts.models import InboxMessage, LedgerEntry, Market, ProProfile, ServiceCategory, User
from leads.models import ContactAttempt, Lead, Message
from refunds import policy, services
from refunds.management.bulkload import Writer
from refunds.management.loadrequests import Marketplace, Requests, Rows
from refunds.models import Credit, Decision, Dispute, RefundEvent, RefundRequest

CHUNK = 5_000
DAYS = 120
BIG_PRO_LEADS = 5_000
REPORT_RATE = 0.08
HIGH_RATE_SHARE = 0.02
HIGH_RATE = 0.40
# Arrivals by hour of the day (UTC) and weekday (Monday first): the shape of a working week.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 9, 9, 9, 8, 8, 7, 6, 5, 3, 2, 1]
WEEKDAY_WEIGHTS = [10, 10, 10, 10, 9, 6, 5]
TWIN_SHARE = 0.015  # leads whose customer the same pro was sold shortly before
TWIN_REPORT_RATE = 0.5

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
    ("Austin, TX", "America/Chicago"),
    ("Denver, CO", "America/Denver"),
    ("Portland, OR", "America/Los_Angeles"),
    ("Atlanta, GA", "America/New_York"),
    ("Phoenix, AZ", "America/Phoenix"),
    ("Chicago, IL", "America/Chicago"),
    ("Seattle, WA", "America/Los_Angeles"),
    ("Boston, MA", "America/New_York"),
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
        self.decided: Counter[tuple[str, str]] = Counter()
        try:
            self._leads(leads)
            self.writer.drain()
            # Every chunk's decisions are in: the metrics' tallies count them (as the services
            # do for each decision they record).
            with transaction.atomic():
                services.count_decisions(self.decided)
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
                defaults={"country_code": "US", "time_zone": CITIES[i % len(CITIES)][1]},
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
        self.offers: dict[int, list[int]] = {}
        self.last_lead: dict[int, dict] = {}  # each pro's latest lead, for duplicates
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
            offered = rng.sample(self.categories, 3)
            self.offers[uid] = offered
            for cat in offered:
                cats.append({"proprofile_id": pid, "servicecategory_id": cat})
        w.write(User, users)
        w.write(ProProfile, profiles)
        w.flush()  # the many-to-many rows below refer to these users and profiles
        self._through(User.groups.through, groups)
        self._through(ProProfile.categories.through, cats)
        self.big_pro = self.pros[0][0]
        self._peer_figures(total_leads)
        self.requests = Requests(
            rng,
            w,
            self.now,
            self.params,
            Marketplace(
                self.reviewers,
                self.market_of,
                self.offers,
                self.window,
                self.peer_rates,
                dict(
                    ServiceCategory.objects.filter(pk__in=self.categories).values_list("pk", "name")
                ),
            ),
        )

    def _peer_figures(self, total_leads: int) -> None:
        """Each pro's requests and leads over the peer window, and each market's rates.

        What compute_peer_stats would find in the finished data set, near enough: the
        assessments stored with the requests are made from these by policy.assess.
        """
        share = self.params.peer_window_days / DAYS
        big = min(BIG_PRO_LEADS, total_leads // 4)
        typical = (total_leads - big) / max(1, len(self.pros) - 1)
        self.window: dict[int, tuple[int, int]] = {}
        self.peer_rates: dict[int, list[float]] = {}
        for n, (uid, market, rate) in enumerate(self.pros):
            leads = round((big if n == 0 else typical) * share)
            requests = round(leads * rate)
            self.window[uid] = (requests, leads)
            if leads:
                self.peer_rates.setdefault(market, []).append(requests / leads)

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
        rng, w = self.rng, self.writer
        self.rows = self.requests.rows = rows = Rows()
        for n in range(start, start + size):
            if n < big:
                pro, _, rate = self.pros[0]
            else:
                pro, _, rate = self.pros[rng.randrange(1, len(self.pros))]
            # The request page benchmark needs reported leads with 200-message threads.
            long_thread = n == start and start // CHUNK % 20 == 0
            lead = self._lead(pro, long_thread)
            attempts = self._thread(lead, long_thread)
            if long_thread or rng.random() < (TWIN_REPORT_RATE if "twin_of" in lead else rate):
                self.requests.request(lead, attempts, force_open=long_thread)
        for model, batch in rows.in_order():
            w.write(model, batch)
        self.decided.update((d["outcome"], d["kind"]) for d in rows.decisions)

    def _lead(self, pro: int, long_thread: bool) -> dict:
        rng, now = self.rng, self.now
        lid = self.writer.new_id(Lead)
        offered = self.offers[pro]
        lead = {
            "id": lid,
            "marketplace_id": f"load-long-{lid}" if long_thread else f"load-{lid}",
            "pro_id": pro,
            "customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "customer_phone": f"+1 555 01{rng.randrange(100):02d} {rng.randrange(10000):04d}",
            "customer_email": f"customer{lid}@example.com",
            # Mostly a job the pro offers; now and then one they do not.
            "category_id": rng.choice(offered if rng.random() < 0.9 else self.categories),
            "location": "Downtown",
            "request_text": "Looking for help with a job at home this week.",
            "price": Decimal(rng.choice(("18.00", "24.50", "29.00", "35.00", "42.00"))),
            "payment_method": "card" if rng.random() < 0.4 else "balance",
            "received_at": self._arrival(),
        }
        earlier = self.last_lead.get(pro)
        if earlier is not None and not long_thread and rng.random() < TWIN_SHARE:
            # The same customer again, a little later: a duplicate the pro may report.
            for key in ("customer_name", "customer_phone", "customer_email"):
                lead[key] = earlier[key]
            later = earlier["received_at"] + timedelta(hours=rng.uniform(1, 240))
            lead["received_at"] = min(later, now)
            lead["twin_of"] = (earlier["id"], earlier["received_at"])  # not a column
        self.last_lead[pro] = lead
        self.rows.leads.append(lead)
        return lead

    def _arrival(self) -> datetime:
        """When a lead arrives: any of the last DAYS days, fewer at weekends, mostly by day."""
        rng, now = self.rng, self.now
        while True:
            day = now - timedelta(days=rng.randrange(DAYS))
            if rng.random() * 10 < WEEKDAY_WEIGHTS[day.weekday()]:
                break
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        return at if at <= now else now - timedelta(seconds=rng.randrange(1, 3600))

    def _thread(self, lead: dict, long_thread: bool) -> list[tuple[str, str, datetime]]:
        """The lead's messages and contact attempts; returns the attempts (channel, outcome, at)."""
        rng, w, now = self.rng, self.writer, self.now
        received = lead["received_at"]
        t = received
        attempts = []
        last_message = customer_wrote = None
        for k in range(self._thread_length(long_thread)):
            t = min(t + timedelta(minutes=rng.randrange(5, 600)), now)
            sender = "customer" if k == 0 else rng.choice(("pro", "customer", "pro", "system"))
            last_message = t
            if sender == "customer":
                customer_wrote = t
            lines = {"pro": PRO_LINES, "customer": CUSTOMER_LINES}.get(sender, SYSTEM_LINES)
            self.rows.messages.append(
                {
                    "id": w.new_id(Message),
                    "lead_id": lead["id"],
                    "sender": sender,
                    "body": rng.choice(lines),
                    "sent_at": t,
                }
            )
            if sender == "pro":
                attempts.append(("message", "delivered", t))
        for _ in range(rng.choice((0, 1, 1, 2))):
            at = min(received + timedelta(minutes=rng.randrange(10, 3000)), now)
            attempts.append(("phone", rng.choice(("no_answer", "voicemail", "answered")), at))
        # The bulk load skips Message.save and ContactAttempt.save: keep what they keep.
        times = [at for *_, at in attempts] + ([last_message] if last_message else [])
        lead["last_activity_at"] = max(times, default=None)
        lead["customer_wrote_at"] = customer_wrote
        for channel, outcome, at in attempts:
            self.rows.attempts.append(
                {
                    "id": w.new_id(ContactAttempt),
                    "lead_id": lead["id"],
                    "channel": channel,
                    "outcome": outcome,
                    "attempted_at": at,
                }
            )
        return attempts

    def _thread_length(self, long_thread: bool) -> int:
        r = self.rng.random()
        if long_thread or r < 0.0005:
            return self.rng.randrange(200, 320)
        if r < 0.02:
            return self.rng.randrange(20, 80)
        return self.rng.randrange(1, 14)
