"""The demo's data as plain tables: staff, the pro's leads and their threads, the peer pros.

manage.py seed_demo (commands/seed_demo.py) writes them; this module only says what the demo
contains. It sits beside commands/, not in it, because every module there becomes a command.
"""

from dataclasses import dataclass

from accounts.choices import Role
from leads.choices import Outcome, PaymentMethod, Sender

PASSWORD = "demo-password"

CATEGORIES = [
    ("Plumbing", "plumbing"),
    ("Water heater repair", "water-heater-repair"),
    ("Drain cleaning", "drain-cleaning"),
    ("Roofing", "roofing"),
    ("Electrical", "electrical"),
    ("House cleaning", "house-cleaning"),
    ("Landscaping", "landscaping"),
]

STAFF = [
    ("reviewer@demo.test", "Rita", "Reyes", Role.REVIEWER),
    ("reviewer2@demo.test", "Ravi", "Shah", Role.REVIEWER),
    ("support@demo.test", "Sam", "Okafor", Role.SUPPORT),
]

# (key, days ago, customer, phone, email, category, location, request, price, paid with)
PRO_LEADS = [
    (
        "today",
        0.1,
        "Maria Gonzalez",
        "+1 512-555-0142",
        "maria.gonzalez@example.com",
        "water-heater-repair",
        "Austin, TX 78704",
        "Our 40-gallon gas water heater is leaking from the bottom. It's about 9 years old. "
        "Can someone come look at it this week?",
        "32.00",
        PaymentMethod.CARD,
    ),
    (
        "three-days",
        3,
        "James Whitfield",
        "+1 512-555-0187",
        "jwhitfield@example.com",
        "plumbing",
        "Austin, TX 78702",
        "Kitchen sink drains slowly and the garbage disposal hums but doesn't spin.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
    (
        "hired-already",
        13,
        "Priya Raman",
        "+1 512-555-0119",
        "priya.raman@example.com",
        "plumbing",
        "Austin, TX 78701",
        "Need a plumber to replace a leaking shut-off valve under the bathroom sink.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
    (
        "too-old",
        20,
        "Tom Becker",
        "+1 512-555-0166",
        "tom.becker@example.com",
        "drain-cleaning",
        "Austin, TX 78704",
        "Main line backs up into the shower when the washing machine drains.",
        "28.00",
        PaymentMethod.BALANCE,
    ),
    (
        "waiting-review",
        5,
        "Linda Park",
        "+1 512-555-0173",
        "linda.park@example.com",
        "plumbing",
        "Austin, TX 78702",
        "Looking for someone to re-shingle the north side of our roof after the hail storm.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
    (
        "denied",
        8,
        "Kevin O'Brien",
        "+1 512-555-0128",
        "kevin.obrien@example.com",
        "drain-cleaning",
        "Austin, TX 78701",
        "Bathtub drain is completely clogged, standing water.",
        "28.00",
        PaymentMethod.CARD,
    ),
    (
        "credited",
        10,
        "Sandra Mills",
        "+1 512-555-0150",
        "sandra.mills@example.com",
        "plumbing",
        "Austin, TX 78704",
        "Toilet keeps running after flushing; need the fill valve replaced.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
]


@dataclass(frozen=True)
class Say:
    """A line of a lead's thread, sent `hours` after the lead arrived."""

    hours: float
    sender: Sender
    body: str


@dataclass(frozen=True)
class Call:
    """A call the pro logged, `hours` after the lead arrived."""

    hours: float
    outcome: Outcome
    note: str = ""


# Each of the pro's leads (by PRO_LEADS key) and its thread, in the order it happened.
THREADS: dict[str, list[Say | Call]] = {
    "three-days": [
        Say(
            0.3,
            Sender.PRO,
            "Hi James, thanks for reaching out! I can stop by tomorrow "
            "between 9 and 11 to look at the disposal. Does that work?",
        ),
        Call(2, Outcome.NO_ANSWER, "Rang twice, no voicemail set up."),
        Say(20, Sender.CUSTOMER, "Tomorrow morning could work. Is there a call-out fee?"),
        Say(
            21,
            Sender.PRO,
            "No call-out fee. The diagnosis is free if you go ahead with the repair.",
        ),
        Say(22, Sender.SYSTEM, "James Whitfield viewed your quote."),
    ],
    "hired-already": [
        Say(
            30,
            Sender.PRO,
            "Hello Priya, I can replace that valve this afternoon. Would 3pm suit you?",
        ),
        Call(31, Outcome.VOICEMAIL, "Left a voicemail with my number."),
        Say(
            33,
            Sender.CUSTOMER,
            "Sorry, we already hired a plumber last week, before "
            "anyone got back to us. Should have closed the request.",
        ),
    ],
    "waiting-review": [
        Say(
            1,
            Sender.PRO,
            "Hi Linda, I'm a plumber; did you mean to ask for roofing? "
            "I don't do roofs, unfortunately.",
        ),
        Say(
            3,
            Sender.CUSTOMER,
            "Yes, roofing. The shingles on the north side blew off. Do you know anyone?",
        ),
        Call(26, Outcome.ANSWERED, "Confirmed it is a roofing job."),
    ],
    "denied": [
        Say(0.5, Sender.PRO, "Hi Kevin, I can clear that drain today. When are you home?"),
        Call(1, Outcome.NO_ANSWER),
    ],
    "credited": [
        Say(0.2, Sender.PRO, "Hi Sandra, happy to fix the running toilet."),
        Say(
            0.3,
            Sender.SYSTEM,
            "This customer sent the same request earlier today; it was already sold to you.",
        ),
        Call(2, Outcome.ANSWERED, "Same job as her earlier request."),
    ],
    "too-old": [
        Say(4, Sender.PRO, "Hi Tom, sounds like a main line clog. I can snake it Thursday."),
        Say(6, Sender.CUSTOMER, "Thursday is fine, thanks."),
    ],
}

# What the second pro, an electrician, was asked for.
PRO2_REQUESTS = [
    "Install a ceiling fan in the bedroom.",
    "Two outlets in the kitchen stopped working.",
    "Need a quote for an EV charger in the garage.",
]

PEER_NAMES = [
    "Hill Country Plumbing",
    "Capitol Drain Pros",
    "Bluebonnet Home Services",
    "Barton Springs Plumbing",
    "Eastside Rooter",
    "Longhorn Pipe & Drain",
]

FIRST_NAMES = ["Ana", "Ben", "Chloe", "Diego", "Emma", "Frank", "Grace", "Hassan", "Ivy", "Jon"]
LAST_NAMES = ["Adams", "Brooks", "Chen", "Diaz", "Evans", "Flores", "Garcia", "Hughes", "Ito"]
