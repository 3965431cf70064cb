"""Analytics → Money: credited per ISO week, balance versus card, and the credits not done yet,
from credits with known amounts, on the page, in the CSV and in the Credits list it links to."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.choices import PaymentMethod
from refunds.analytics import money
from refunds.analytics.period import Period
from refunds.choices import CreditStatus, Status
from refunds.models import Credit, CreditReversal, CreditTopUp, Decision
from tests.factories import (
    LeadFactory,
    LedgerEntryFactory,
    MarketFactory,
    ProFactory,
    RefundRequestFactory,
    ServiceCategoryFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("analytics:page", args=["money"])
CREDITS = reverse("admin:refunds_credit_changelist")
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
# Thursday May 28 to Wednesday June 10: parts of three ISO weeks.
PERIOD = Period(date(2026, 5, 28), date(2026, 6, 10))
BALANCE, CARD = PaymentMethod.BALANCE, PaymentMethod.CARD


def credit(amount, method=BALANCE, *, posted_at=None, status=CreditStatus.POSTED, **fields):
    """A credit stored directly, on a request of its own."""
    request = RefundRequestFactory(
        lead=LeadFactory(**fields.pop("lead", {}), payment_method=method),
        status=Status.CREDITED if status == CreditStatus.POSTED else Status.REVIEWED,
    )
    return Credit.objects.create(
        request=request,
        amount=Decimal(amount),
        method=method,
        status=status,
        posted_at=posted_at,
        **fields,
    )


def at(day: int, month: int = 6, hour: int = 12, **kw) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC, **kw)


def figure(page, label):
    return next(f for s in page.sections for f in s.figures if f.label == label)


def rows(page, name):
    return page.table(name).rows


# Credited per week


def test_an_empty_period_has_a_row_per_week_and_nothing_credited():
    page = money.build(PERIOD, NOW)
    assert rows(page, "credited_by_week") == [
        [week, 0, "$0.00", 0, "$0.00", "$0.00"]
        for week in ("2026-05-25", "2026-06-01", "2026-06-08")
    ]
    assert figure(page, "Credited in the period").value == "$0.00"
    assert figure(page, "To cards").note == "— of the amount, 0 credits"
    assert rows(page, "credited_by_method")[-1] == ["All", 0, "$0.00", "", ""]
    assert [row[1:] for row in rows(page, "credits_not_done")] == [[0, "$0.00"]] * 3


def test_credits_are_summed_per_iso_week_by_method():
    credit("24.50", posted_at=at(31, 5, hour=23, minute=59, second=59))  # Sunday: week of May 25
    credit("10.00", posted_at=at(1, hour=0))  # Monday midnight: the next week
    credit("30.25", CARD, posted_at=at(3), expected_on=date(2026, 6, 8))
    credit("40.00", CARD, posted_at=at(4), expected_on=date(2026, 6, 9))
    credit("5.00", posted_at=at(9))
    credit("99.00", posted_at=at(27, 5))  # before the period, in its first week
    credit("99.00", posted_at=None, status=CreditStatus.PENDING)  # not paid yet
    credit("99.00", posted_at=at(10, hour=23) + timedelta(hours=1))  # after the period
    page = money.build(PERIOD, NOW)
    assert rows(page, "credited_by_week") == [
        ["2026-05-25", 1, "$24.50", 0, "$0.00", "$24.50"],
        ["2026-06-01", 1, "$10.00", 2, "$70.25", "$80.25"],
        ["2026-06-08", 1, "$5.00", 0, "$0.00", "$5.00"],
    ]
    chart = page.sections[0].chart
    assert "Jun 1, Card: $70.25" in chart and "Prepaid balance" in chart
    assert "rq-stripes-" in chart  # the card's bars are striped, not only another colour


def test_a_single_credit():
    credit("24.50", CARD, posted_at=at(2), expected_on=date(2026, 6, 5))
    page = money.build(PERIOD, NOW)
    assert rows(page, "credited_by_week")[1] == ["2026-06-01", 0, "$0.00", 1, "$24.50", "$24.50"]
    assert rows(page, "credited_by_method") == [
        ["Prepaid balance", 0, "$0.00", 0.0, ""],
        ["Card", 1, "$24.50", 100.0, "$24.50"],
        ["All", 1, "$24.50", 100.0, "$24.50"],
    ]


def test_a_year_of_weeks():
    year = Period(date(2025, 6, 11), date(2026, 6, 10))
    page = money.build(year, NOW)
    weeks = [row[0] for row in rows(page, "credited_by_week")]
    assert weeks[0] == "2025-06-09" and weeks[-1] == "2026-06-08" and len(weeks) == 53


# Balance versus card


def test_balance_versus_card_totals_shares_and_averages():
    credit("20.00", posted_at=at(1))
    credit("40.00", posted_at=at(2))
    credit("60.00", CARD, posted_at=at(3), expected_on=date(2026, 6, 8))
    page = money.build(PERIOD, NOW)
    assert rows(page, "credited_by_method") == [
        ["Prepaid balance", 2, "$60.00", 50.0, "$30.00"],
        ["Card", 1, "$60.00", 50.0, "$60.00"],
        ["All", 3, "$120.00", 100.0, "$40.00"],
    ]
    assert figure(page, "Credited in the period").value == "$120.00"
    assert figure(page, "Credited in the period").note == "3 credits"
    assert figure(page, "To prepaid balances").value == "$60.00"
    assert figure(page, "To cards").note == "50% of the amount, 1 credit"


def test_large_sums_keep_their_cents():
    credit("999999.99", posted_at=at(1))
    credit("999999.99", posted_at=at(1))
    credit("0.01", posted_at=at(1))
    page = money.build(PERIOD, NOW)
    assert figure(page, "Credited in the period").value == "$1,999,999.99"


# Topped up and reversed


def top_up(paid: Credit, amount, *, posted_at=None, status=CreditStatus.POSTED) -> CreditTopUp:
    """The rest of a partial credit, paid after support overturned it (stored directly)."""
    decision = Decision.objects.create(
        request=paid.request,
        decided_by=StaffFactory(),
        outcome="approved",
        kind="dispute",
        amount=paid.request.lead.price,
        decided_at=at(1),
    )
    return CreditTopUp.objects.create(
        credit=paid,
        decision=decision,
        amount=Decimal(amount),
        status=status,
        posted_at=posted_at,
        created_at=posted_at or at(1),
    )


def reversal(paid: Credit, amount, *, reversed_at) -> CreditReversal:
    return CreditReversal.objects.create(
        credit=paid,
        amount=Decimal(amount),
        explanation="The customer hired the pro after all.",
        reversed_by=StaffFactory(),
        reversed_at=reversed_at,
        ledger_entry=LedgerEntryFactory(pro=paid.request.pro, amount=-Decimal(amount)),
    )


def test_nothing_topped_up_or_reversed():
    credit("24.50", posted_at=at(2))
    page = money.build(PERIOD, NOW)
    assert rows(page, "top_ups_and_reversals_by_week") == [
        [week, 0, "$0.00", 0, "$0.00", "$0.00"]
        for week in ("2026-05-25", "2026-06-01", "2026-06-08")
    ]
    assert figure(page, "Topped up after a dispute").value == "$0.00"
    assert figure(page, "Reversed after the conversation resumed").note == "0 reversals"
    assert figure(page, "Net refunded in the period").value == "$24.50"


def test_top_ups_and_reversals_are_counted_by_the_week_they_happened():
    part = credit("12.25", posted_at=at(29, 5), lead={"price": Decimal("24.50")})
    top_up(part, "12.25", posted_at=at(2))  # Tuesday: week of June 1
    card = credit("10.00", CARD, posted_at=at(1), expected_on=date(2026, 6, 5))
    top_up(card, "30.00", posted_at=at(8, hour=0))  # Monday midnight: week of June 8
    top_up(credit("5.00", posted_at=at(3)), "5.00", status=CreditStatus.PENDING)  # not paid
    top_up(credit("5.00", posted_at=at(3)), "5.00", posted_at=at(27, 5))  # before the period
    reversal(credit("24.50", posted_at=at(28, 5)), "24.50", reversed_at=at(9))
    reversal(part, "24.50", reversed_at=at(10, hour=23, minute=59))
    reversal(credit("8.00", posted_at=at(20, 5)), "8.00", reversed_at=at(27, 5))  # before
    page = money.build(PERIOD, NOW)
    assert rows(page, "top_ups_and_reversals_by_week") == [
        ["2026-05-25", 0, "$0.00", 0, "$0.00", "$0.00"],
        ["2026-06-01", 1, "$12.25", 0, "$0.00", "$12.25"],
        ["2026-06-08", 1, "$30.00", 2, "$49.00", "−$19.00"],
    ]
    assert figure(page, "Topped up after a dispute").value == "$42.25"
    assert figure(page, "Topped up after a dispute").note == "2 top-ups"
    assert figure(page, "Reversed after the conversation resumed").value == "$49.00"
    assert figure(page, "Reversed after the conversation resumed").note == "2 reversals"
    # Credited in the period (12.25 + 10 + 5 + 5 + 24.50) plus top-ups, less reversals.
    assert figure(page, "Credited in the period").value == "$56.75"
    net = figure(page, "Net refunded in the period")
    assert net.value == "$50.00"
    assert net.note == "$56.75 credited, plus top-ups, less reversals"


def test_the_filters_apply_to_top_ups_and_reversals():
    denver = MarketFactory(name="Denver, CO")
    theirs = credit("10.00", posted_at=at(1), lead={"pro": ProFactory(profile__market=denver)})
    top_up(theirs, "4.00", posted_at=at(2))
    reversal(theirs, "14.00", reversed_at=at(9))
    elsewhere = credit("10.00", posted_at=at(1))
    top_up(elsewhere, "6.00", posted_at=at(2))
    reversal(elsewhere, "16.00", reversed_at=at(9))
    page = money.build(Period(PERIOD.first, PERIOD.last, market=denver), NOW)
    assert rows(page, "top_ups_and_reversals_by_week")[1:] == [
        ["2026-06-01", 1, "$4.00", 0, "$0.00", "$4.00"],
        ["2026-06-08", 0, "$0.00", 1, "$14.00", "−$14.00"],
    ]
    assert figure(page, "Net refunded in the period").value == "$0.00"


def test_top_ups_and_reversals_link_to_those_credits(client_for, rita):
    topped = credit("10.00", posted_at=at(1))
    top_up(topped, "4.00", posted_at=at(2))
    taken_back = credit("10.00", posted_at=at(1))
    reversal(taken_back, "10.00", reversed_at=at(9))
    credit("10.00", posted_at=at(1))  # neither
    page = money.build(PERIOD, NOW)
    client = client_for(rita)
    for label, expected in (
        ("Topped up after a dispute", topped),
        ("Reversed after the conversation resumed", taken_back),
    ):
        link = figure(page, label).link
        assert link.startswith(CREDITS)
        listed = client.get(link).context["cl"].queryset
        assert list(listed.values_list("pk", flat=True)) == [expected.pk]


# Credits not done yet


@pytest.fixture
def not_done(settings):
    """One credit in each state, and some that are in none."""
    settings.CREDIT_MAX_ATTEMPTS = 3
    tomorrow, today = date(2026, 6, 11), NOW.date()
    return {
        "settling": [
            credit("30.00", CARD, posted_at=at(9), expected_on=tomorrow, gateway_reference="re_1"),
            credit("12.50", CARD, posted_at=at(10), expected_on=date(2026, 6, 16)),
        ],
        "retrying": [
            credit("20.00", CARD, status=CreditStatus.PENDING, attempts=2, last_error="Timeout"),
        ],
        "stuck": [
            credit("40.00", CARD, status=CreditStatus.PENDING, attempts=3, last_error="Declined"),
            credit("8.00", BALANCE, status=CreditStatus.PENDING, attempts=3, last_error="Boom"),
        ],
        "none": [
            credit("1.00", CARD, posted_at=at(5), expected_on=today),  # on the card today
            credit("1.00", BALANCE, posted_at=at(9)),
            credit("1.00", CARD, status=CreditStatus.PENDING),  # not tried yet
            credit("1.00", BALANCE, status=CreditStatus.PENDING, attempts=1, last_error="Boom"),
        ],
    }


def test_card_refunds_on_their_way_failing_and_credits_needing_a_person(not_done):
    page = money.build(PERIOD, NOW)
    assert rows(page, "credits_not_done") == [
        ["Card refund accepted by the provider, not on the card yet", 2, "$42.50"],
        ["Card refund failed, the worker is retrying", 1, "$20.00"],
        ["Given up after 3 attempts: needs a person", 2, "$48.00"],
    ]
    on_the_way = figure(page, "Card refunds on their way")
    assert on_the_way.value == "2" and on_the_way.note == "$42.50, all by Jun 16"
    assert figure(page, "Credits needing a person").level == "late"


def test_states_now_whatever_the_dates(not_done):
    long_ago = Period(date(2025, 1, 1), date(2025, 1, 31))
    page = money.build(long_ago, NOW)
    assert [row[1] for row in rows(page, "credits_not_done")] == [2, 1, 2]
    assert rows(page, "credited_by_method")[-1][1] == 0


def test_each_number_links_to_the_credits_list_showing_those_credits(
    not_done, client_for, rita, monkeypatch
):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    page = money.build(PERIOD, NOW)
    client = client_for(rita)
    for label, state in (
        ("Card refunds on their way", "settling"),
        ("Card refunds failing, being retried", "retrying"),
        ("Credits needing a person", "stuck"),
    ):
        link = figure(page, label).link
        assert link.startswith(CREDITS)
        listed = client.get(link).context["cl"].queryset
        assert sorted(listed.values_list("pk", flat=True)) == sorted(c.pk for c in not_done[state])


def test_the_market_and_category_filters_apply_to_every_figure(not_done):
    denver = MarketFactory(name="Denver, CO")
    lead = {"pro": ProFactory(profile__market=denver)}
    credit("15.00", posted_at=at(2), lead=lead)
    credit("25.00", CARD, posted_at=at(9), expected_on=date(2026, 6, 12), lead=lead)
    page = money.build(Period(PERIOD.first, PERIOD.last, market=denver), NOW)
    assert rows(page, "credited_by_week")[1:] == [
        ["2026-06-01", 1, "$15.00", 0, "$0.00", "$15.00"],
        ["2026-06-08", 0, "$0.00", 1, "$25.00", "$25.00"],
    ]
    assert [row[1] for row in rows(page, "credits_not_done")] == [1, 0, 0]
    roofing = ServiceCategoryFactory(name="Roofing")
    credit("7.00", posted_at=at(3), lead={"category": roofing})
    page = money.build(Period(PERIOD.first, PERIOD.last, category=roofing), NOW)
    assert rows(page, "credited_by_method")[-1] == ["All", 1, "$7.00", 100.0, "$7.00"]
    assert [row[1] for row in rows(page, "credits_not_done")] == [0, 0, 0]


# The page


@pytest.fixture
def this_week_credits():
    now = timezone.now()
    credit("24.50", posted_at=now - timedelta(hours=1))
    credit("30.00", CARD, posted_at=now - timedelta(hours=1), expected_on=now.date() + timedelta(3))


def test_the_page_shows_the_chart_the_tables_and_the_links(client_for, rita, this_week_credits):
    response = client_for(rita).get(URL, {"range": "7"})
    assert response.status_code == 200
    html = response.text
    assert "Analytics: Money" in html
    assert '<svg class="rq-chart"' in html and "Credited per week" in html
    assert "$54.50" in html
    assert f'href="{CREDITS}?stuck=yes"' in html
    assert f'href="{CREDITS}?payment=settling"' in html
    assert response.context["page"].table("credited_by_method").rows[-1] == [
        "All",
        2,
        "$54.50",
        100.0,
        "$27.25",
    ]


def test_each_table_downloads_as_csv_with_the_same_figures(client_for, rita, this_week_credits):
    client = client_for(rita)
    page = client.get(URL, {"range": "30"}).context["page"]
    names = [t.name for s in page.sections for t in s.tables]
    assert len(names) == len(set(names)) == 4
    for name in names:
        response = client.get(URL, {"range": "30", "csv": name})
        assert response["Content-Type"].startswith("text/csv")
        found = list(csv.reader(io.StringIO(response.content.decode())))
        assert found[0] == page.table(name).columns
        assert found[1:] == [[str(cell) for cell in row] for row in page.table(name).rows]
    response = client.get(URL, {"range": "30", "csv": "credited_by_method"})
    found = list(csv.reader(io.StringIO(response.content.decode())))
    assert found[2] == ["Card", "1", "$30.00", "55.0", "$30.00"]


def test_pros_and_staff_without_the_permission_do_not_see_it(client_for, alice):
    assert client_for(StaffFactory()).get(URL).status_code == 403
    assert client_for(StaffFactory()).get(URL, {"csv": "credited_by_week"}).status_code == 403
    response = client_for(alice).get(URL)
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_with_a_market_weeks_are_its_local_weeks():
    """Sunday 23:00 in Denver is Monday 05:00 UTC: the credit counts in Denver's week before."""
    denver = MarketFactory(name="Denver, CO", time_zone="America/Denver")
    lead = {"pro": ProFactory(profile__market=denver)}
    credit("15.00", posted_at=datetime(2026, 6, 1, 5, 0, tzinfo=UTC), lead=lead)
    local = money.build(Period(PERIOD.first, PERIOD.last, market=denver), NOW)
    assert rows(local, "credited_by_week")[0] == ["2026-05-25", 1, "$15.00", 0, "$0.00", "$15.00"]
    assert "Week starting (Monday, America/Denver)" in local.sections[0].chart
    everywhere = money.build(PERIOD, NOW)
    assert rows(everywhere, "credited_by_week")[1][:3] == ["2026-06-01", 1, "$15.00"]
