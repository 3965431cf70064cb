"""The demo's data as plain tables: staff, the pro's leads and their threads, the peer pros,
and the reports waiting in the reviewers' queue.

manage.py seed_demo (commands/seed_demo.py) writes them; this module only says what the demo
contains. It sits beside commands/, not in it, because every module there becomes a command.
"""

from dataclasses import dataclass

from accounts.choices import Role
from leads.choices import Outcome, PaymentMethod, Sender
from refunds.choices import Reason

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
    # Reported and credited in part: the customer had hired someone but asked for a quote.
    (
        "part-credit",
        4,
        "Angela Ruiz",
        "+1 512-555-0195",
        "angela.ruiz@example.com",
        "drain-cleaning",
        "Austin, TX 78703",
        "Kitchen sink and the downstairs bathroom sink both drain slowly. Need them cleared.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
    # Leads the pro has not reported yet, each one a report an automatic rule decides. First the
    # customer's earlier request, worked normally; then the same customer again, a duplicate.
    (
        "dup-first",
        6,
        "Carlos Mendoza",
        "+1 512-555-0411",
        "carlos.mendoza@example.com",
        "water-heater-repair",
        "Austin, TX 78703",
        "Our electric water heater makes a loud popping noise while it heats. It's about 12 "
        "years old.",
        "32.00",
        PaymentMethod.BALANCE,
    ),
    (
        "dup-twin",
        1.2,
        "Carlos Mendoza",
        "+1 512-555-0411",
        "carlos.mendoza@example.com",
        "water-heater-repair",
        "Austin, TX 78703",
        "Water heater popping when it heats up, electric, roughly 12 years old. Please call.",
        "32.00",
        PaymentMethod.BALANCE,
    ),
    # A roofing job: not one of the pro's services.
    (
        "roofing",
        2,
        "Hannah Kowalski",
        "+1 512-555-0427",
        "hannah.kowalski@example.com",
        "roofing",
        "Austin, TX 78702",
        "The wind took a few shingles off last night and now the garage ceiling drips. Need a "
        "roofer to patch it.",
        "38.00",
        PaymentMethod.BALANCE,
    ),
    # A number that reaches a stranger, no email, and a customer who never wrote.
    (
        "unreachable",
        1.8,
        "Derek Lawson",
        "+1 512-555-0433",
        "",
        "plumbing",
        "Austin, TX 78701",
        "Leak under the kitchen sink, the cabinet floor is soaked. Free any afternoon.",
        "24.50",
        PaymentMethod.BALANCE,
    ),
]

# The pro's leads whose request came only through the marketplace's form: the customer has
# not written in the thread (every other lead's thread opens with the request as they wrote it).
SILENT_LEADS = frozenset({"unreachable"})


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
    "part-credit": [
        Say(1, Sender.PRO, "Hi Angela, I can clear both drains tomorrow morning. Does 9am work?"),
        Say(
            3,
            Sender.CUSTOMER,
            "Our handyman already did the kitchen sink this morning, sorry. Could you give me a "
            "price for the bathroom one?",
        ),
        Call(5, Outcome.ANSWERED, "Quoted the bathroom sink; she will think about it."),
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
    "dup-first": [
        Say(
            0.4,
            Sender.PRO,
            "Hi Carlos, popping is usually sediment at the bottom of the tank. I can flush it "
            "tomorrow at 9am, would that work?",
        ),
        Say(3, Sender.CUSTOMER, "9am tomorrow is great, thank you."),
        Call(4, Outcome.ANSWERED, "Booked the tank flush."),
    ],
    "dup-twin": [
        Say(0.5, Sender.PRO, "Hi Carlos, is this the same water heater I flushed this week?"),
        Say(2, Sender.CUSTOMER, "Yes, same one. I sent the form again by mistake, sorry!"),
    ],
    "roofing": [
        Say(
            0.6,
            Sender.PRO,
            "Hi Hannah, we're a plumbing company, so patching a roof isn't something we do. Sorry!",
        ),
        Say(1.5, Sender.CUSTOMER, "Oh, I must have picked the wrong category. Thanks anyway."),
    ],
    "unreachable": [
        Say(0.3, Sender.PRO, "Hi Derek, I can look at the leak this afternoon. Where are you?"),
        Call(1, Outcome.WRONG_NUMBER, "The man who answered has never heard of Derek."),
        Call(22, Outcome.WRONG_NUMBER, "Same man again; he asked me to stop calling."),
    ],
}

# What the second pro, an electrician, was asked for.
PRO2_REQUESTS = [
    "Install a ceiling fan in the bedroom.",
    "Two outlets in the kitchen stopped working.",
    "Need a quote for an EV charger in the garage.",
]


@dataclass(frozen=True)
class History:
    """Older leads a pro worked normally (a quick reply, a booked visit), so the pro's refund
    rate is a fair one. The n-th lead arrived `first_days + n * every_days` days ago."""

    key: str  # marketplace ids demo-<key>-history-<n>
    count: int
    first_days: int
    every_days: int
    categories: tuple[str, ...]
    location: str
    request: str
    price: str
    phone: str  # the first digits; each lead's number ends in n, in two digits


HISTORY = {
    "pro@demo.test": History(
        "pro",
        14,
        24,
        4,
        ("plumbing", "drain-cleaning"),
        "Austin, TX 78703",
        "Dripping tap in the kitchen, would like it fixed this week.",
        "24.50",
        "+1 512-555-03",
    ),
    "pro2@demo.test": History(
        "pro2",
        8,
        12,
        6,
        ("electrical",),
        "Round Rock, TX 78664",
        "The porch light flickers and the switch feels warm. Can you check the wiring?",
        "29.00",
        "+1 512-555-06",
    ),
}


@dataclass(frozen=True)
class Queued:
    """A lead another pro reported and nobody has reviewed yet: the reviewers' queue.

    No automatic rule decides these: every wrong job is in a category the pro offers, the
    duplicate has no earlier lead behind it, and the contact details may still work.
    """

    key: str  # the marketplace id is demo-<key>
    pro: str  # the reporting pro's login
    days: float  # received this many days ago
    customer: str
    phone: str
    email: str
    category: str
    location: str
    request: str
    price: str
    paid: PaymentMethod
    thread: tuple[Say | Call, ...]
    reason: Reason
    details: str
    reported_hours: float  # reported this many hours ago, after the whole thread
    # A reviewer asked the customer (Ask the customer) this many hours ago, and the customer's
    # answer, if one came, `answered_hours` ago.
    asked_hours: float | None = None
    answer: str = ""
    answered_hours: float | None = None


QUEUE = [
    Queued(
        "pro2-garage-door",
        "pro2@demo.test",
        1.5,
        "Olivia Grant",
        "+1 512-555-0512",
        "olivia.grant@example.com",
        "electrical",
        "Round Rock, TX 78664",
        "The garage door opener hums but the door won't lift. I think the spring on top snapped.",
        "29.00",
        PaymentMethod.BALANCE,
        (
            Say(
                0.5,
                Sender.PRO,
                "Hi Olivia, when the opener hums and the door stays put it's usually the "
                "spring, not the wiring. Could you send a photo?",
            ),
            Say(2, Sender.CUSTOMER, "Here you go, the spring is in two pieces."),
            Call(3, Outcome.ANSWERED, "Snapped torsion spring: a garage door company's job."),
        ),
        Reason.WRONG_JOB,
        "A broken garage door spring, not electrical work; the opener itself is fine.",
        19,
        # Asked, and no answer yet: the request is decided on what is there.
        asked_hours=18,
    ),
    Queued(
        "peer1-wrong-number",
        "peer1@demo.test",
        3,
        "Marcus Bell",
        "+1 512-555-0548",
        "marcus.bell@example.com",
        "plumbing",
        "Austin, TX 78704",
        "The outdoor hose bib drips all the time, it needs replacing.",
        "24.50",
        PaymentMethod.CARD,
        (
            Say(
                0.5, Sender.PRO, "Hi Marcus, I can replace the hose bib tomorrow. What time works?"
            ),
            Call(2, Outcome.WRONG_NUMBER, "A woman answered: no Marcus at this number."),
            Call(27, Outcome.NO_ANSWER),
            Say(
                28,
                Sender.PRO,
                "Marcus, the number on your request reaches someone else. Could you send me "
                "the right one?",
            ),
        ),
        Reason.INVALID_CONTACT,
        "The phone number belongs to someone else and my messages got no answer.",
        17,
        asked_hours=16,
        answer="Sorry about that, I typed my number wrong on the form. It's 512-555-0584. "
        "The hose bib is still dripping if he can come.",
        answered_hours=13,
    ),
    Queued(
        "peer3-septic",
        "peer3@demo.test",
        2,
        "Roger Hale",
        "+1 512-555-0575",
        "roger.hale@example.com",
        "drain-cleaning",
        "Manor, TX 78653",
        "The septic tank needs pumping, it has been about five years. The alarm light is on.",
        "24.50",
        PaymentMethod.CARD,
        (
            Say(
                0.5,
                Sender.PRO,
                "Hi Roger, we clear drain lines but we don't pump septic tanks. With the alarm "
                "on, a septic service is who you need.",
            ),
            Say(3, Sender.CUSTOMER, "Ah, I thought drain cleaning covered it. Thanks."),
        ),
        Reason.WRONG_JOB,
        "Septic pumping needs a pump truck; we clear drains and don't service septic tanks.",
        15,
    ),
    Queued(
        "pro2-solar-ad",
        "pro2@demo.test",
        0.9,
        "Brandon Wells",
        "+1 512-555-0524",
        "offers@sunsaver-deals.example",
        "electrical",
        "Austin, TX 78745",
        "Homeowners in 78745 qualify for FREE solar panels! Reply YES or visit "
        "sunsaver-deals.example to claim your install today.",
        "29.00",
        PaymentMethod.BALANCE,
        (
            Say(0.4, Sender.PRO, "Hi, is there electrical work you need done at your home?"),
            Call(1, Outcome.NO_ANSWER, "A recorded sales pitch played, then the line dropped."),
        ),
        Reason.SPAM,
        "An advert for solar panels, not a job.",
        12,
    ),
    Queued(
        "peer1-same-house",
        "peer1@demo.test",
        4,
        "Jennifer Ross",
        "+1 512-555-0551",
        "jennifer.ross@example.com",
        "drain-cleaning",
        "Austin, TX 78703",
        "The shower drain in the upstairs bathroom is slow again.",
        "24.50",
        PaymentMethod.CARD,
        (
            Say(
                0.3,
                Sender.PRO,
                "Hi Jennifer, is this the shower we cleared three weeks ago on Rosewood Ave?",
            ),
            Say(
                1,
                Sender.CUSTOMER,
                "Yes! My husband booked you that time. It's draining slowly again.",
            ),
            Call(2, Outcome.ANSWERED, "She would like another visit."),
        ),
        Reason.DUPLICATE,
        "Same house and same drain as a lead I bought three weeks ago from her husband.",
        10,
    ),
    Queued(
        "peer3-emergency",
        "peer3@demo.test",
        1.2,
        "Alicia Moreno",
        "+1 512-555-0587",
        "alicia.moreno@example.com",
        "plumbing",
        "Austin, TX 78745",
        "Water is coming up through the floor drain in the laundry room. Urgent!",
        "24.50",
        PaymentMethod.CARD,
        (
            Call(0.8, Outcome.NO_ANSWER),
            Say(0.9, Sender.PRO, "Hi Alicia, I tried calling. I can be there within the hour."),
            Say(
                1.2,
                Sender.CUSTOMER,
                "Thanks, but we called an emergency plumber as soon as it started and he's "
                "already here.",
            ),
        ),
        Reason.HIRED_BEFORE_CONTACT,
        "She had called an emergency plumber before the lead reached me.",
        7.5,
    ),
    Queued(
        "pro2-fixed-already",
        "pro2@demo.test",
        2.5,
        "Teresa Nguyen",
        "+1 512-555-0536",
        "teresa.nguyen@example.com",
        "electrical",
        "Austin, TX 78701",
        "Half the living room outlets went dead after the storm. The breakers look fine.",
        "29.00",
        PaymentMethod.BALANCE,
        (
            Say(
                0.7,
                Sender.PRO,
                "Hi Teresa, that sounds like a tripped GFCI somewhere on the circuit. I can come "
                "by this morning.",
            ),
            Say(
                1.5,
                Sender.CUSTOMER,
                "Thank you, but our neighbour is an electrician and fixed it a few minutes "
                "after I sent this. Sorry, I forgot to cancel.",
            ),
            Call(24, Outcome.ANSWERED, "Confirmed: her neighbour fixed it before I replied."),
        ),
        Reason.HIRED_BEFORE_CONTACT,
        "Her neighbour, an electrician, fixed it minutes after she sent the request, before my "
        "first reply.",
        4,
    ),
    Queued(
        "peer1-test-request",
        "peer1@demo.test",
        0.8,
        "Test User",
        "+1 512-555-0563",
        "test@example.com",
        "plumbing",
        "Austin, TX",
        "testing 123 please ignore",
        "24.50",
        PaymentMethod.CARD,
        (
            Say(0.2, Sender.PRO, "Hello, is this a real request? Happy to help if so."),
            Call(1, Outcome.NO_ANSWER),
        ),
        Reason.SPAM,
        "A test submission, not a real customer.",
        1,
    ),
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


# A second market with five weeks of history, so every analytics page has something to show.
# Its pros are not the README's: their requests are all decided and their market is not
# Austin, so the first pro's peer comparison, the queue and the home's counts stay as told.
@dataclass(frozen=True)
class WeeksPro:
    email: str
    business: str
    categories: tuple[str, ...]
    leads: int
    report_share: float  # of their leads they report: the market's spread of refund rates


WEEKS_MARKET = ("Denver, CO", "America/Denver")
WEEKS_DAYS = 35
WEEKS_PROS = [
    WeeksPro("mile-high@demo.test", "Mile High Plumbing", ("plumbing", "drain-cleaning"), 52, 0.16),
    WeeksPro("front-range@demo.test", "Front Range Electric", ("electrical",), 44, 0.13),
    WeeksPro("aspen@demo.test", "Aspen Home Cleaning", ("house-cleaning",), 46, 0.18),
    WeeksPro("summit@demo.test", "Summit Roofing", ("roofing",), 34, 0.22),
    WeeksPro(
        "cherry-creek@demo.test",
        "Cherry Creek Heating & Water",
        ("water-heater-repair", "plumbing"),
        44,
        0.16,
    ),
    WeeksPro("platte@demo.test", "Platte River Landscaping", ("landscaping",), 38, 0.11),
    # Reports far more than the others: the peer rule denies some of these by itself.
    WeeksPro("quickfix@demo.test", "QuickFix Denver", ("plumbing", "electrical"), 34, 0.55),
]
# Submissions by local hour of the day, as pros work: mornings and after the day's jobs.
WEEKS_HOURS = [0, 0, 0, 0, 0, 0, 1, 4, 8, 9, 8, 7, 6, 6, 6, 7, 8, 8, 7, 5, 4, 3, 1, 0]
WEEKS_REASONS = [
    (Reason.WRONG_JOB, "The customer needs a different trade than the one I offer."),
    (Reason.INVALID_CONTACT, "The number is disconnected and my message bounced."),
    (Reason.DUPLICATE, "I was sold this same job earlier this week."),
    (Reason.HIRED_BEFORE_CONTACT, "They told me they had already hired someone before I called."),
    (Reason.SPAM, "The request is an advertisement, not a job."),
]
WEEKS_DISPUTES = [
    "I called three times and texted; the number really is wrong. Please look again.",
    "The customer wrote in the thread that they hired someone the day before my lead.",
    "This is the same address and phone as a lead I bought on Monday.",
]
