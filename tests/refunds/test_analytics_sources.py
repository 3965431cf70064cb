"""Analytics → Where refunds come from: requests, approvals and credits by reason, market and
category; each market's pros' refund rates against the auto-deny limit; the pros with the highest
rates and the links to their requests. Known answers, on the page, in its tables and the CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from leads.choices import PaymentMethod
from refunds.analytics import sources
from refunds.analytics.figures import Amount
from refunds.analytics.period import Period
from refunds.choices import CreditStatus, Reason, Status
from refunds.models import Credit, MarketPeerStats
from tests.factories import (
    LeadFactory,
    MarketFactory,
    ProFactory,
    RefundRequestFactory,
    ServiceCategoryFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("analytics:page", args=["sources"])
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
DAY = NOW.date()
ZERO = Amount(0)


def period(days: int = 7, **kw) -> Period:
    return Period(DAY - timedelta(days=days - 1), DAY, **kw)


def reported(
    *,
    pro=None,
    reason=Reason.WRONG_JOB,
    status=Status.SUBMITTED,
    credit: str | None = None,
    posted=True,
    at=NOW - timedelta(days=1),
    **lead,
):
    """A request submitted `at`, in `status`, with a credit of `credit` dollars if given."""
    if pro is not None:
        lead["pro"] = pro
    request = RefundRequestFactory(
        lead=LeadFactory(received_at=at - timedelta(days=1), **lead),
        reason=reason,
        status=status,
        submitted_at=at,
    )
    if credit is not None:
        Credit.objects.create(
            request=request,
            amount=Decimal(credit),
            method=PaymentMethod.BALANCE,
            status=CreditStatus.POSTED if posted else CreditStatus.PENDING,
        )
    return request


def section(page, title):
    return next(s for s in page.sections if s.title == title)


def figure(sec, label):
    return next(f for f in sec.figures if f.label.startswith(label))


@pytest.fixture
def pro(db):
    return ProFactory(email="pro@example.test")


# Requests, approvals and credits


def test_an_empty_period_lists_every_reason_at_zero():
    page = sources.build(period(), NOW)
    rows = page.table("by_reason").rows
    assert [row[0] for row in rows] == [*Reason.labels, "all"]
    assert all(row[1:] == [0, 0, 0, "", ZERO] for row in rows)
    assert page.table("by_market").rows == [["all", 0, 0, 0, "", ZERO]]
    assert page.table("by_category").rows == [["all", 0, 0, 0, "", ZERO]]
    assert page.table("peer_limits").rows == []
    assert page.table("top_pros").rows == []


def test_a_single_request():
    reported(status=Status.CREDITED, credit="24.50")
    page = sources.build(period(), NOW)
    assert page.table("by_reason").rows[0] == [
        "Wrong job type",
        1,
        1,
        1,
        100.0,
        Amount("24.50"),
    ]
    assert page.table("by_market").rows == [
        ["Austin, TX", 1, 1, 1, 100.0, Amount("24.50")],
        ["all", 1, 1, 1, 100.0, Amount("24.50")],
    ]


def test_by_reason_counts_decided_approved_and_credited(pro):
    reported(pro=pro, status=Status.CREDITED, credit="24.50")
    reported(pro=pro, status=Status.DENIED)
    reported(pro=pro)  # still open: not decided
    reported(pro=pro, reason=Reason.DUPLICATE, status=Status.REVIEWED, credit="30.00", posted=False)
    reported(pro=pro, reason=Reason.SPAM, status=Status.WITHDRAWN)
    reported(pro=pro, reason=Reason.SPAM, status=Status.DISPUTED)  # denied, disputed
    reported(pro=pro, status=Status.CREDITED, credit="99.00", at=NOW - timedelta(days=8))  # before
    page = sources.build(period(), NOW)
    assert page.table("by_reason").rows == [
        ["Wrong job type", 3, 2, 1, 50.0, Amount("24.50")],
        ["Spam, fraud or abuse", 2, 1, 0, 0.0, ZERO],
        ["Duplicate lead", 1, 1, 1, 100.0, Amount("30.00")],
        ["Invalid or fake contact info", 0, 0, 0, "", ZERO],
        ["Customer hired someone before I reached them", 0, 0, 0, "", ZERO],
        ["all", 6, 4, 2, 50.0, Amount("54.50")],
    ]
    first = section(page, "By reason")
    assert figure(first, "Approved").value == "50%"
    assert figure(first, "Approved").note == "2 of 4 decided"
    assert figure(first, "Credited").value == "$54.50"
    assert '<svg class="rq-chart"' in first.chart


def test_by_market_and_by_category_and_the_filters():
    denver = MarketFactory(name="Denver, CO")
    roofing = ServiceCategoryFactory(name="Roofing")
    austin_pro = ProFactory()
    denver_pro = ProFactory(profile__market=denver)
    reported(pro=austin_pro, status=Status.CREDITED, credit="20.00")
    reported(pro=austin_pro, status=Status.DENIED, category=roofing)
    reported(pro=denver_pro, status=Status.CREDITED, credit="40.00", category=roofing)
    page = sources.build(period(), NOW)
    assert page.table("by_market").rows == [
        ["Austin, TX", 2, 2, 1, 50.0, Amount("20.00")],
        ["Denver, CO", 1, 1, 1, 100.0, Amount("40.00")],
        ["all", 3, 3, 2, 66.7, Amount("60.00")],
    ]
    assert page.table("by_category").rows == [
        ["Roofing", 2, 2, 1, 50.0, Amount("40.00")],
        ["Plumbing", 1, 1, 1, 100.0, Amount("20.00")],
        ["all", 3, 3, 2, 66.7, Amount("60.00")],
    ]
    only = sources.build(period(market=denver, category=roofing), NOW)
    assert only.table("by_reason").rows[-1] == ["all", 1, 1, 1, 100.0, Amount("40.00")]
    assert only.table("by_category").rows[0][0] == "Roofing"
    roofing_only = sources.build(period(category=roofing), NOW)
    assert roofing_only.table("by_market").rows[-1][1] == 2


# Pros' refund rates against the auto-deny limit


def pro_with(leads: int, requests: int, market=None, **kw):
    """A pro with `leads` leads in the peer window, `requests` of them reported."""
    pro = ProFactory(**({"profile__market": market} if market else {}), **kw)
    for n in range(leads):
        lead = LeadFactory(pro=pro, received_at=NOW - timedelta(days=10 + n))
        if n < requests:
            RefundRequestFactory(lead=lead, submitted_at=lead.received_at + timedelta(days=1))
    return pro


def test_a_snapshot_is_drawn_as_a_histogram_with_the_limit_on_it(market):
    heavy = pro_with(10, 0, market)  # enough leads to be judged; the snapshot says 60%
    # Other pros' ids are made from the heavy pro's, so none can be the heavy pro's own (on
    # PostgreSQL ids keep counting between tests: a fixed "901" once was).
    rates = {str(heavy.pk + n): rate for n, rate in enumerate([0.0, 0.05, 0.1, 0.1, 0.15, 0.2], 1)}
    MarketPeerStats.objects.create(
        market=market,
        computed_at=NOW - timedelta(hours=1),
        window_days=90,
        rates=rates | {str(heavy.pk): 0.60},
    )
    page = sources.build(period(), NOW)
    # Median 10%, so 2 × median = 20%; the 90th percentile (interpolated) is 36%: the limit.
    assert page.table("peer_limits").rows == [
        ["Austin, TX", 7, 10.0, 36.0, 36.0, 1, 1, "snapshot of Jun 10 11:00 UTC"]
    ]
    histogram = page.table(f"rates_market_{market.pk}")
    assert histogram.rows[:5] == [
        ["0–5%", 1],
        ["5–10%", 1],
        ["10–15%", 2],
        ["15–20%", 1],
        ["20–25%", 1],
    ]
    assert histogram.rows[-1] == ["60–65%", 1]
    assert sum(row[1] for row in histogram.rows) == 7
    shown = section(page, "Refund rates of pros in Austin, TX")
    assert figure(shown, "Auto-deny limit").value == "36.0%"
    assert figure(shown, "Pros above it").value == "1"
    assert "auto-deny above 36.0%" in shown.chart
    assert 'stroke-dasharray="5 3"' in shown.chart


def test_without_a_snapshot_the_rates_are_counted_over_the_peer_window():
    denver = MarketFactory(name="Denver, CO")
    for requests in (0, 1, 2, 3, 4, 6):
        pro_with(10, requests, denver)
    page = sources.build(period(), NOW)
    # Rates 0–60%: median 25%, so the limit is 2 × 25% = 50%; only the 60% pro is above it.
    assert page.table("peer_limits").rows == [
        ["Denver, CO", 6, 25.0, 50.0, 50.0, 1, 1, "counted now (no snapshot yet)"]
    ]


def test_too_few_pros_draw_no_limit(market):
    MarketPeerStats.objects.create(
        market=market, computed_at=NOW, window_days=90, rates={"1": 0.5, "2": 0.1}
    )
    page = sources.build(period(), NOW)
    shown = section(page, "Refund rates of pros in Austin, TX")
    assert figure(shown, "Auto-deny limit").value == "—"
    assert figure(shown, "Pros above it").value == "0"
    assert "auto-deny above" not in shown.chart
    assert page.table("peer_limits").rows[0][4:7] == ["", 0, 0]


def test_the_bucket_edges_are_whole_percentage_points():
    labels, counts = sources.buckets([0.15, 0.05, 0.1, 0.0, 1.0], None)
    assert labels[0] == "0–5%" and labels[-1] == "95% or more" and len(labels) == 20
    assert counts[:4] == [1, 1, 1, 1] and counts[-1] == 1


# The pros with the highest rates


def test_the_top_pros_have_enough_leads_a_request_and_a_link_to_their_requests():
    denver = MarketFactory(name="Denver, CO")
    for n, requests in enumerate((0, 1, 2, 3, 4, 6)):
        pro_with(10, requests, denver, email=f"pro{n}@example.test")
    pro_with(3, 3, email="few@example.test")  # 100% (in Austin), but too few leads to judge
    page = sources.build(period(), NOW)
    rows = page.table("top_pros").rows
    assert [row[1] for row in rows] == [
        "pro5@example.test",
        "pro4@example.test",
        "pro3@example.test",
        "pro2@example.test",
        "pro1@example.test",
    ]
    assert rows[0][2:] == ["Denver, CO", 10, 6, 60.0, 50.0, "yes"]
    assert rows[1][2:] == ["Denver, CO", 10, 4, 40.0, 50.0, "no"]
    assert rows[0][0].url == "/admin/refunds/refundrequest/?q=pro5%40example.test&state=all"


def test_the_page_links_each_top_pro_to_their_requests_and_the_csv_has_plain_names(client_for):
    rita = StaffFactory(roles=[Role.REVIEWER])
    now = timezone.now()
    pro = ProFactory(email="heavy@example.test", profile__business_name="Heavy Reporter")
    for n in range(10):
        lead = LeadFactory(
            pro=pro, received_at=now - timedelta(days=5 + n), customer_name=f"Customer H{n}"
        )
        if n < 2:
            RefundRequestFactory(
                lead=lead, submitted_at=now - timedelta(days=1), status=Status.DENIED
            )
    client = client_for(rita)
    response = client.get(URL, {"range": "7"})
    assert response.status_code == 200
    html = response.text
    assert "Analytics: Where refunds come from" in html
    link = "/admin/refunds/refundrequest/?q=heavy%40example.test&amp;state=all"
    assert f'<a href="{link}">Heavy Reporter</a>' in html
    queue = client.get(link.replace("&amp;", "&"))
    assert queue.status_code == 200
    assert "Customer H0" in queue.text and "Customer H1" in queue.text
    download = client.get(URL, {"range": "7", "csv": "top_pros"})
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[1][:6] == ["Heavy Reporter", "heavy@example.test", "Austin, TX", "10", "2", "20.0"]
    for name in ("by_reason", "by_market", "by_category", "peer_limits"):
        shown = response.context["page"].table(name)
        rows = list(csv.reader(io.StringIO(client.get(URL, {"range": "7", "csv": name}).text)))
        assert rows == [shown.columns, *[[str(v) for v in row] for row in shown.rows]]
    assert response.context["page"].table("by_reason").rows[0][:4] == [
        "Wrong job type",
        2,
        2,
        0,
    ]


def test_every_table_on_the_page_has_its_own_csv_name(market):
    MarketPeerStats.objects.create(market=market, computed_at=NOW, window_days=90, rates={"1": 0})
    page = sources.build(period(), NOW)
    names = [table.name for s in page.sections for table in s.tables]
    assert len(names) == len(set(names))
