"""Load the demo: logins for every role, a market of pros, leads in every refund state, a queue
of reports to review, and leads of the first pro that each automatic rule decides when reported.

Idempotent: every object has a stable key, so a second run finds everything and adds nothing.
"""

import random
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.choices import LedgerKind, Role
from accounts.models import LedgerEntry, Market, ProProfile, ServiceCategory, User
from leads import services as leads_services
from leads.choices import PaymentMethod, Sender
from leads.contact import normalise_email, normalise_phone
from leads.models import Lead, Message
from refunds import services
from refunds.choices import Reason, Status
from refunds.gateway import GatewayError, GatewayRefund
from refunds.management.demo_data import (
    CATEGORIES,
    FIRST_NAMES,
    HISTORY,
    LAST_NAMES,
    PASSWORD,
    PEER_NAMES,
    PRO2_REQUESTS,
    PRO_LEADS,
    QUEUE,
    SILENT_LEADS,
    STAFF,
    THREADS,
    WEEKS_DAYS,
    WEEKS_DISPUTES,
    WEEKS_HOURS,
    WEEKS_MARKET,
    WEEKS_PROS,
    WEEKS_REASONS,
    Call,
    Say,
)
from refunds.models import Credit, DenialTemplate, RefundRequest, SpotCheck


class UnansweredGateway:
    """The demo's card issuer that never answers, for the one credit support must send again."""

    def refund(self, *, idempotency_key: str, amount: Decimal) -> GatewayRefund:
        raise GatewayError("the card issuer did not answer (timed out after 30 s)")


class Command(BaseCommand):
    help = "Create the demo logins, market, pros and leads (safe to run again)."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        with transaction.atomic():
            if User.objects.filter(email="pro@demo.test").exists():
                self.stdout.write("Demo data already present; nothing to do.")
                return
            self._seed(now)
        # The analytics' daily roll-ups of the history, as the worker's schedule keeps them.
        call_command("rebuild_rollups", verbosity=options["verbosity"])
        self.stdout.write(
            self.style.SUCCESS("Demo data loaded. Every login's password: demo-password")
        )

    def _seed(self, now) -> None:
        market, _ = Market.objects.get_or_create(
            name="Austin, TX", defaults={"country_code": "US", "time_zone": "America/Chicago"}
        )
        categories = {
            slug: ServiceCategory.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for name, slug in CATEGORIES
        }
        self.reviewers = [self._staff(*row) for row in STAFF[:2]]
        self._staff(*STAFF[2])
        if not User.objects.filter(email="admin@demo.test").exists():
            User.objects.create_superuser(
                "admin@demo.test", PASSWORD, first_name="Ada", last_name="Admin"
            )

        pro = self._pro(
            "pro@demo.test",
            "Gonzalez & Sons Plumbing",
            market,
            [categories[s] for s in ("plumbing", "water-heater-repair", "drain-cleaning")],
            "Austin, 78701, 78702, 78703, 78704",
        )
        pro2 = self._pro(
            "pro2@demo.test",
            "Lone Star Electric",
            market,
            [categories["electrical"]],
            "Austin, Round Rock, 78701, 78702, 78745",
        )
        self._top_up(pro, Decimal("750.00"), now - timedelta(days=30))
        self._top_up(pro2, Decimal("600.00"), now - timedelta(days=60))

        leads = {}
        for key, days, name, phone, email, cat, where, text, price, paid in PRO_LEADS:
            leads[key] = self._lead(
                f"demo-pro-{key}",
                pro,
                now - timedelta(days=days),
                name,
                phone,
                email,
                categories[cat],
                where,
                text,
                Decimal(price),
                paid,
                customer_wrote=key not in SILENT_LEADS,
            )
        for key, lines in THREADS.items():
            self._thread(leads[key], lines)
        rng = random.Random(20261127)
        self._history(pro, categories, rng, now)
        # Peers first, so the assessments of the pro's requests compare against the market.
        self._peers(market, categories, rng, now)
        self._requests(pro, leads, now)

        for n in range(3):
            self._lead(
                f"demo-pro2-{n}",
                pro2,
                now - timedelta(days=1 + n * 4),
                f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                f"+1 512-555-02{n:02d}",
                "",
                categories["electrical"],
                "Austin, TX 78745",
                PRO2_REQUESTS[n],
                Decimal("29.00"),
                PaymentMethod.BALANCE,
            )
        self._history(pro2, categories, rng, now)
        self._queue(categories, now)
        self._weeks(categories, rng, now)
        services.compute_peer_stats(now)

    # People

    def _staff(self, email, first, last, role) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last, "is_staff": True}
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=("password",))
            user.groups.add(Group.objects.get(name=role.value))
        return user

    def _pro(self, email, business, market, categories, area, login=True) -> User:
        user, created = User.objects.get_or_create(email=email)
        if created:
            # Argon2 costs a third of a second a hash: only the README's logins get a password.
            if login:
                user.set_password(PASSWORD)
            else:
                user.set_unusable_password()
            user.save(update_fields=("password",))
            user.groups.add(Group.objects.get(name=Role.PRO.value))
            profile = ProProfile.objects.create(
                user=user, business_name=business, market=market, service_area=area
            )
            profile.categories.set(categories)
        return user

    def _top_up(self, pro, amount, at) -> None:
        LedgerEntry.objects.create(
            pro=pro, kind=LedgerKind.TOP_UP, amount=amount, memo="Balance top-up", created_at=at
        )

    # Leads and threads

    def _lead(
        self,
        key,
        pro,
        received,
        name,
        phone,
        email,
        category,
        where,
        text,
        price,
        paid,
        customer_wrote=True,
    ):
        # Stored as the marketplace's API stores them, so the same number always matches.
        phone, phone_valid = normalise_phone(phone, pro.pro_profile.market.country_code)
        email, email_valid = normalise_email(email)
        lead = Lead.objects.create(
            marketplace_id=key,
            pro=pro,
            customer_name=name,
            customer_phone=phone,
            phone_valid=phone_valid,
            customer_email=email,
            email_valid=email_valid,
            category=category,
            location=where,
            request_text=text,
            price=price,
            payment_method=paid,
            received_at=received,
        )
        if customer_wrote:
            # The thread opens with the request in the customer's words.
            Message.objects.create(lead=lead, sender=Sender.CUSTOMER, body=text, sent_at=received)
        if paid == PaymentMethod.BALANCE:
            LedgerEntry.objects.create(
                pro=pro,
                kind=LedgerKind.LEAD_PURCHASE,
                amount=-price,
                memo=f"Lead: {name} ({category})",
                created_at=received,
            )
        return lead

    def _say(self, lead, sender, body, after) -> None:
        """A line of the thread; the pro's go through the same service as the composer."""
        at = lead.received_at + after
        if sender == Sender.PRO:
            leads_services.send_message(pro=lead.pro, lead=lead, body=body, now=at)
        else:
            Message.objects.create(lead=lead, sender=sender, body=body, sent_at=at)

    def _call(self, lead, outcome, after, note="") -> None:
        leads_services.log_call(
            pro=lead.pro, lead=lead, outcome=outcome, note=note, now=lead.received_at + after
        )

    def _thread(self, lead, lines: Iterable[Say | Call]) -> None:
        for line in lines:
            after = timedelta(hours=line.hours)
            if isinstance(line, Call):
                self._call(lead, line.outcome, after, line.note)
            else:
                self._say(lead, line.sender, line.body, after)

    def _history(self, pro, categories, rng, now) -> None:
        """Older leads the pro worked normally, so their refund rate is a fair one."""
        history = HISTORY[pro.email]
        for n in range(history.count):
            lead = self._lead(
                f"demo-{history.key}-history-{n}",
                pro,
                now - timedelta(days=history.first_days + n * history.every_days, hours=n),
                f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                f"{history.phone}{n:02d}",
                "",
                categories[rng.choice(history.categories)],
                history.location,
                history.request,
                Decimal(history.price),
                PaymentMethod.BALANCE,
            )
            self._say(
                lead,
                Sender.PRO,
                "Hi! I can come by tomorrow, does 10am work?",
                timedelta(minutes=20),
            )
            self._say(lead, Sender.CUSTOMER, "Perfect, see you then.", timedelta(hours=2))

    # Refund requests, through the same services the pages use

    def _requests(self, pro, leads, now) -> None:
        ravi = self.reviewers[1]
        lead = leads["denied"]
        request = services.submit_report(
            pro=pro,
            lead_id=lead.pk,
            reason=Reason.INVALID_CONTACT,
            details="Nobody answers the phone and my message got no reply.",
            now=lead.received_at + timedelta(days=2),
        )
        self._claim(ravi, request, lead.received_at + timedelta(days=2, hours=5), 7)
        decision = services.deny(
            reviewer=ravi,
            request_id=request.pk,
            explanation="The phone number rings and the messages were delivered, so the contact "
            "details work; the customer simply did not answer yet.",
            guidance="Give customers a day or two and try both calls and messages before "
            "reporting contact details as invalid.",
            now=lead.received_at + timedelta(days=2, hours=5),
        )
        services.deliver_denial(decision.pk, now=decision.decided_at + timedelta(minutes=2))

        lead = leads["credited"]
        request = services.submit_report(
            pro=pro,
            lead_id=lead.pk,
            reason=Reason.DUPLICATE,
            details="Same customer and job as a lead I bought the same morning.",
            now=lead.received_at + timedelta(hours=3),
        )
        self._claim(ravi, request, lead.received_at + timedelta(hours=9), 4)
        services.approve(
            reviewer=ravi,
            request_id=request.pk,
            note="Confirmed duplicate.",
            now=lead.received_at + timedelta(hours=9),
        )
        services.post_credit(
            request.credit.pk, now=lead.received_at + timedelta(hours=9, minutes=2)
        )
        # Then Sandra writes again and the pro answers: on support's "conversation resumed" list.
        self._say(
            lead,
            Sender.CUSTOMER,
            "Hi, are you still able to come and fix the toilet on Saturday morning?",
            timedelta(days=2),
        )
        self._say(lead, Sender.PRO, "Yes, I'll be there at 9.", timedelta(days=2, hours=1))

        # Half the price back: the customer had hired someone for one of the two sinks.
        lead = leads["part-credit"]
        request = services.submit_report(
            pro=pro,
            lead_id=lead.pk,
            reason=Reason.HIRED_BEFORE_CONTACT,
            details="She had a handyman clear the kitchen sink before I wrote.",
            now=lead.received_at + timedelta(hours=6),
        )
        self._claim(ravi, request, lead.received_at + timedelta(hours=11), 6)
        services.approve_part(
            reviewer=ravi,
            request_id=request.pk,
            share=50,
            reason="Her handyman had done the kitchen sink before you wrote, but she asked you "
            "to price the bathroom sink, so the lead was still worth something: half back.",
            now=lead.received_at + timedelta(hours=11),
        )
        services.post_credit(
            request.credit.pk, now=lead.received_at + timedelta(hours=11, minutes=2)
        )

        lead = leads["waiting-review"]
        services.submit_report(
            pro=pro,
            lead_id=lead.pk,
            reason=Reason.WRONG_JOB,
            details="The customer wants a roofer; I only offer plumbing, water heaters and drains.",
            now=now - timedelta(hours=2),
        )

    def _queue(self, categories, now) -> None:
        """Reports from several pros that no rule decides, for the reviewers to work through;
        submitted hours apart, so their time left differs."""
        for case in QUEUE:
            pro = User.objects.get(email=case.pro)
            lead = self._lead(
                f"demo-{case.key}",
                pro,
                now - timedelta(days=case.days),
                case.customer,
                case.phone,
                case.email,
                categories[case.category],
                case.location,
                case.request,
                Decimal(case.price),
                case.paid,
            )
            self._thread(lead, case.thread)
            request = services.submit_report(
                pro=pro,
                lead_id=lead.pk,
                reason=case.reason,
                details=case.details,
                now=now - timedelta(hours=case.reported_hours),
            )
            if case.asked_hours is not None:
                self._ask(request, case, now)

    def _ask(self, request, case, now) -> None:
        """Ask the customer, as a reviewer does from the request page, and link the answer
        that came back through the marketplace (the ingest API's answers_question)."""
        question = services.ask_customer(
            reviewer=self.reviewers[1],
            request_id=request.pk,
            now=now - timedelta(hours=case.asked_hours),
        )
        if case.answer:
            at = now - timedelta(hours=case.answered_hours)
            answer = Message.objects.create(
                lead=request.lead, sender=Sender.CUSTOMER, body=case.answer, sent_at=at
            )
            services.record_answer(question, answer, now=at)

    # Five weeks of history in a second market, for the analytics pages

    def _weeks(self, categories, rng, now) -> None:
        """Pros in Denver who bought leads and reported some of them over the last five weeks,
        at the hours pros work; reviewers decided every report, most within hours, some late;
        the rules decided a few; some denials were disputed and support answered. Nothing is
        left open, so the queue and the home's counts are the ones the README describes."""
        name, zone = WEEKS_MARKET
        market, _ = Market.objects.get_or_create(
            name=name, defaults={"country_code": "US", "time_zone": zone}
        )
        local = ZoneInfo(zone)
        reports = []
        for i, spec in enumerate(WEEKS_PROS):
            pro = self._pro(
                spec.email,
                spec.business,
                market,
                [categories[c] for c in spec.categories],
                "Denver, 80202, 80203, 80205, 80206",
                login=False,
            )
            self._top_up(pro, Decimal("900.00"), now - timedelta(days=WEEKS_DAYS + 5))
            previous = None
            for n in range(spec.leads):
                received = self._local_time(rng, local, now, rng.uniform(2.5, WEEKS_DAYS))
                reason, details = rng.choice(WEEKS_REASONS)
                reported = rng.random() < spec.report_share
                category = categories[rng.choice(spec.categories)]
                phone = f"+1 720-555-{100 * i + n:04d}"
                if reported and reason == Reason.WRONG_JOB and rng.random() < 0.5:
                    # A job the pro does not offer: the outside-services rule approves it.
                    category = categories[rng.choice(["roofing", "landscaping", "house-cleaning"])]
                if reported and reason == Reason.DUPLICATE and previous is not None:
                    phone = previous.customer_phone  # the duplicate rule finds the first lead
                lead = self._lead(
                    f"demo-weeks-{i}-{n}",
                    pro,
                    received,
                    f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    phone,
                    "",
                    category,
                    "Denver, CO 80205",
                    "Looking for someone this week, details in the thread.",
                    Decimal(rng.choice(["19.00", "24.50", "32.00", "45.00", "58.00"])),
                    PaymentMethod.CARD if rng.random() < 0.3 else PaymentMethod.BALANCE,
                )
                self._say(lead, Sender.PRO, "Hi! When would suit you?", timedelta(minutes=25))
                submitted = received + timedelta(hours=rng.uniform(1, 40))
                if reported and submitted < now - timedelta(days=2):
                    reports.append((submitted, pro, lead, reason, details))
                previous = lead
        reports.sort(key=lambda report: report[0])
        # The first half is on record before the market's peer figures are taken, so the peer
        # rule can deny the pro who reports far more than the others in the second half.
        half = len(reports) // 2
        # Every automatic approval of the history is spot-checked (the sample is random
        # otherwise), and the reviewers answer each check.
        every_one = {**settings.REFUND_POLICY, "AUTO_APPROVE_SAMPLE_PERCENT": 100}
        with override_settings(REFUND_POLICY=every_one):
            for report in reports[:half]:
                self._weeks_report(rng, now, *report)
            services.compute_peer_stats(now)
            for report in reports[half:]:
                self._weeks_report(rng, now, *report)

    def _local_time(self, rng, local, now, days_ago: float) -> datetime:
        """A moment `days_ago` days back, at an hour pros work in the market's time zone."""
        day = (now - timedelta(days=days_ago)).astimezone(local).date()
        hour = rng.choices(range(24), weights=WEEKS_HOURS)[0]
        at = datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=local)
        return min(at, now - timedelta(days=2, hours=3))

    def _weeks_report(self, rng, now, submitted, pro, lead, reason, details) -> None:
        request = services.submit_report(
            pro=pro, lead_id=lead.pk, reason=reason, details=details, now=submitted
        )
        if request.status == Status.SUBMITTED:
            reviewer = rng.choices(self.reviewers, weights=[3, 2])[0]
            # Most within hours; nights and weekends wait longer; about one in ten is late.
            hours = rng.choices(
                [rng.uniform(0.3, 6), rng.uniform(6, 20), rng.uniform(20, 24), rng.uniform(24, 40)],
                weights=[55, 28, 8, 9],
            )[0]
            if submitted.weekday() >= 5:
                hours = min(hours * 1.5, 40)
            decide_at = min(submitted + timedelta(hours=hours), now - timedelta(minutes=30))
            self._claim(reviewer, request, decide_at, rng.randint(2, 14))
            approve = rng.random() < {Reason.DUPLICATE: 0.8, Reason.WRONG_JOB: 0.7}.get(reason, 0.5)
            if approve:
                services.approve(
                    reviewer=reviewer, request_id=request.pk, note="Checked.", now=decide_at
                )
            else:
                explanation, guidance = self._denial_wording(rng, reason)
                services.deny(
                    reviewer=reviewer,
                    request_id=request.pk,
                    explanation=explanation,
                    guidance=guidance,
                    now=decide_at,
                )
        self._settle(request.pk)
        request.refresh_from_db()
        latest = request.decisions.latest()
        check = SpotCheck.objects.filter(decision=latest).first()
        if check is not None:
            agreed = rng.random() < 0.8
            services.check_automatic_approval(
                reviewer=rng.choice(self.reviewers),
                spot_check_id=check.pk,
                agreed=agreed,
                note="" if agreed else "The customer asked for a job the pro does offer.",
                now=min(latest.decided_at + timedelta(hours=rng.uniform(2, 30)), now),
            )
        if latest.outcome == "denied" and latest.decided_by is not None and rng.random() < 0.4:
            self._weeks_dispute(rng, now, request, latest)

    def _weeks_dispute(self, rng, now, request, denial) -> None:
        opened = denial.decided_at + timedelta(hours=rng.uniform(1, 20))
        if opened > now - timedelta(hours=3):
            return
        services.open_dispute(
            pro=request.pro, request_id=request.pk, message=rng.choice(WEEKS_DISPUTES), now=opened
        )
        # Support answers most within the 48 hours, a few later.
        answered = min(
            opened + timedelta(hours=rng.choice([rng.uniform(2, 40), rng.uniform(50, 70)])),
            now - timedelta(hours=1),
        )
        support = User.objects.get(email=STAFF[2][0])
        if rng.random() < 0.4:
            services.overturn(
                agent=support,
                request_id=request.pk,
                note="Looking again with the thread, the lead was not usable. Refunded.",
                now=answered,
            )
        else:
            explanation, guidance = self._denial_wording(rng, request.reason)
            services.uphold(
                agent=support,
                request_id=request.pk,
                explanation=explanation,
                guidance=guidance,
                now=answered,
            )
        self._settle(request.pk)

    def _denial_wording(self, rng, reason) -> tuple[str, str]:
        """Mostly a template's wording as the picker fills it in, now and then reworded."""
        template = (
            DenialTemplate.objects.filter(reason=reason).first()
            or DenialTemplate.objects.order_by("pk").first()
        )
        if template is None or rng.random() < 0.2:
            return (
                "The thread shows the customer answered and the job fits your services.",
                "Report a lead only when it fails one of the listed reasons.",
            )
        return template.explanation, template.guidance

    def _settle(self, request_id: int) -> None:
        """What the worker does after the undo window: the credit paid, the denial's notice
        sent, at the decision's time plus two minutes."""
        decision = (
            RefundRequest.objects.get(pk=request_id).decisions.filter(undone_at=None).latest()
        )
        at = decision.decided_at + timedelta(minutes=2)
        if decision.outcome == "approved":
            credit = Credit.objects.get(request_id=request_id)
            services.post_credit(credit.pk, now=at)
        else:
            services.deliver_denial(decision.pk, now=at)

    def _claim(self, reviewer, request, decide_at, minutes) -> None:
        """The reviewer picks the request up `minutes` before deciding it, as in the queue; the
        Capacity page measures their handling time from it."""
        services.claim(
            reviewer=reviewer, request_id=request.pk, now=decide_at - timedelta(minutes=minutes)
        )

    def _stuck_credit(self, request) -> None:
        """An approved card refund the provider kept refusing until the worker gave up: what
        support finds under Credits → Needs a person, and can send again."""
        self._claim(self.reviewers[1], request, request.submitted_at + timedelta(hours=5), 5)
        services.approve(
            reviewer=self.reviewers[1],
            request_id=request.pk,
            note="A test job the customer never meant to send.",
            now=request.submitted_at + timedelta(hours=5),
        )
        # Every try the worker would make, through the same service, against a provider that
        # does not answer; the queued task then finds the credit given up on.
        credit_id = Credit.objects.get(request=request).pk
        with override_settings(PAYMENT_GATEWAY=f"{__name__}.UnansweredGateway"):
            for _ in range(settings.CREDIT_MAX_ATTEMPTS):
                with suppress(GatewayError):
                    services.post_credit(credit_id)

    def _peers(self, market, categories, rng, now) -> None:
        """Other pros in the market with a spread of refund rates, for the peer comparison."""
        for i, business in enumerate(PEER_NAMES):
            peer = self._pro(
                f"peer{i + 1}@demo.test",
                business,
                market,
                [categories["plumbing"], categories["drain-cleaning"]],
                "Austin",
            )
            for n in range(12 + 2 * i):
                self._lead(
                    f"demo-peer{i + 1}-{n}",
                    peer,
                    now - timedelta(days=rng.uniform(1, 85), minutes=rng.randint(0, 600)),
                    f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    f"+1 737-555-{rng.randint(100, 199):04d}",
                    "",
                    categories[rng.choice(["plumbing", "drain-cleaning"])],
                    "Austin, TX",
                    "Leaky faucet in the guest bathroom.",
                    Decimal("24.50"),
                    PaymentMethod.CARD,
                )
            # Peer i reports i of its leads (0 to 5): rates from 0% to about 23%.
            reported = Lead.objects.filter(pro=peer).order_by("received_at")[:i]
            for lead in reported:
                request = services.submit_report(
                    pro=peer,
                    lead_id=lead.pk,
                    reason=Reason.SPAM,
                    details="Looks automated.",
                    now=lead.received_at + timedelta(hours=6),
                )
                if i == 1:
                    self._stuck_credit(request)
                    continue
                if request.status == Status.SUBMITTED:
                    decide_at = lead.received_at + timedelta(hours=12)
                    self._claim(self.reviewers[0], request, decide_at, 3 + lead.pk % 9)
                    services.deny(
                        reviewer=self.reviewers[0],
                        request_id=request.pk,
                        explanation="The request reads as a genuine job.",
                        guidance="Report spam only for fake or automated requests.",
                        now=lead.received_at + timedelta(hours=12),
                    )
                # Auto-denied or not, deliver the notice now rather than wait for the worker.
                latest = request.decisions.latest()
                services.deliver_denial(latest.pk, now=latest.decided_at + timedelta(minutes=2))
