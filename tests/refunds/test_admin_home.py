"""The back office's home: the work's counts, each a link to the list of exactly those items,
only the counts a person may open, and a fixed number of queries however much work there is."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone

from refunds.admin.home import start_of_day
from refunds.choices import CreditStatus, DecisionKind, DisputeStatus, Outcome, Status
from refunds.models import Credit, Decision, Dispute, SpotCheck
from tests.factories import RefundRequestFactory, StaffFactory
from tests.refunds.staff_flows import submitted

HOME = "/admin/"
# Session, user, permissions (2), one count each for requests, disputes, credits, automatic
# approvals and spot checks, and the admin's recent actions. A count per row would make the
# 30-request run fail.
HOME_QUERIES = 10


def _tiles(response) -> dict[str, object]:
    return {tile.label: tile for section in response.context["sections"] for tile in section.tiles}


def _rows(response) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def _decision(kind: str, at, **request_kwargs) -> Decision:
    return Decision.objects.create(
        request=RefundRequestFactory(status=Status.REVIEWED, **request_kwargs),
        outcome=Outcome.APPROVED,
        kind=kind,
        decided_at=at,
    )


@pytest.fixture
def work(alice, bob, rita, ralph):
    """A little of everything, and what each tile should list (by primary key)."""
    now = timezone.now()

    def request(hours_left: float, **kwargs):
        due = now + timedelta(hours=hours_left)
        return RefundRequestFactory(
            lead__pro=alice, submitted_at=due - timedelta(hours=24), due_at=due, **kwargs
        )

    claim = {"status": Status.IN_REVIEW, "claimed_until": now + timedelta(minutes=20)}
    soon = request(2)
    late = request(-6)
    mine = request(20, claimed_by=rita, **claim)
    theirs = request(3.5, claimed_by=ralph, **claim)
    lapsed = request(
        10, status=Status.IN_REVIEW, claimed_by=rita, claimed_until=now - timedelta(minutes=1)
    )
    later = request(23)
    request(-30, status=Status.CREDITED)  # decided, so neither open nor overdue
    request(1, status=Status.DENIED)

    def dispute(hours_ago: float, status=DisputeStatus.OPEN, due_in: float = 40) -> Dispute:
        return Dispute.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.DISPUTED),
            message="The customer wanted a roof.",
            opened_at=now - timedelta(hours=hours_ago),
            due_at=now + timedelta(hours=due_in),
            status=status,
        )

    disputes = {dispute(3).pk, dispute(26, due_in=22).pk}
    dispute(50, status=DisputeStatus.UPHELD, due_in=-2)

    def credit(attempts: int, status=CreditStatus.PENDING) -> Credit:
        return Credit.objects.create(
            request=RefundRequestFactory(lead__pro=bob, status=Status.REVIEWED),
            amount=Decimal("24.50"),
            method="balance",
            status=status,
            attempts=attempts,
        )

    stuck = credit(settings.CREDIT_MAX_ATTEMPTS)
    credit(1)
    credit(settings.CREDIT_MAX_ATTEMPTS + 2, status=CreditStatus.POSTED)

    today = {_decision(DecisionKind.AUTO_APPROVAL, now, lead__pro=bob).pk for _ in range(2)}
    yesterday = _decision(
        DecisionKind.AUTO_APPROVAL, start_of_day(now) - timedelta(minutes=1), lead__pro=bob
    )
    _decision(DecisionKind.REVIEW, now, lead__pro=bob)

    waiting = SpotCheck.objects.create(decision=Decision.objects.get(pk=min(today)))
    SpotCheck.objects.create(
        decision=yesterday, agreed=True, checked_by=rita, checked_at=now - timedelta(hours=1)
    )
    return {
        "Open requests": {soon.pk, late.pk, mine.pk, theirs.pk, lapsed.pk, later.pk},
        "Due within 4 hours": {soon.pk, theirs.pk},
        "Overdue": {late.pk},
        "Claimed by me": {mine.pk},
        "Disputes waiting": disputes,
        "Credits needing a person": {stuck.pk},
        "Automatic approvals today": today,
        "Spot checks waiting": {waiting.pk},
    }


def test_pros_are_sent_to_the_admin_sign_in(client_for, alice):
    response = client_for(alice).get(HOME)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_a_reviewer_sees_every_count_of_the_work(client_for, rita, work):
    response = client_for(rita).get(HOME)
    assert response.status_code == 200
    tiles = _tiles(response)
    assert list(tiles) == list(work)
    assert {label: tile.count for label, tile in tiles.items()} == {
        label: len(pks) for label, pks in work.items()
    }
    assert tiles["Disputes waiting"].note == "oldest waiting 1 d 2 h"
    assert tiles["Automatic approvals today"].note == "since 00:00 UTC"


@pytest.mark.parametrize("who", ["rita", "root"])
def test_each_count_links_to_the_list_of_exactly_those_items(who, request, client_for, work):
    client = client_for(request.getfixturevalue(who))
    tiles = _tiles(client.get(HOME))
    if who == "root":
        work["Claimed by me"] = set()  # rita's claim is not root's
    for label, expected in work.items():
        assert tiles[label].count == len(expected), label
        listing = client.get(tiles[label].url)
        assert listing.context["cl"].result_count == len(expected), label
        assert _rows(listing) == expected, label


def test_the_page_shows_the_counts_as_links_with_a_heading(client_for, rita, work):
    html = client_for(rita).get(HOME).text
    assert "<h1>Review and support</h1>" in html
    assert (
        '<a class="rq-tile rq-tile--late" href="/admin/refunds/refundrequest/?overdue=yes">\n'
        '          <span class="rq-tile__count">1</span>\n'
        '          <span class="rq-tile__label">Overdue</span>'
    ) in html
    assert (
        '<a class="rq-tile rq-tile--warn" href="/admin/refunds/refundrequest/?overdue=soon">'
        in html
    )
    assert '<a class="rq-tile" href="/admin/refunds/refundrequest/?claimed=me">' in html
    assert '<a class="rq-tile" href="/admin/refunds/spotcheck/">' in html
    assert "oldest waiting 1 d 2 h" in html


def test_nothing_late_is_not_coloured(client_for, rita):
    html = client_for(rita).get(HOME).text
    assert "rq-tile--late" not in html and "rq-tile--warn" not in html
    assert html.count('class="rq-tile rq-tile--none"') == 8
    tiles = _tiles(client_for(rita).get(HOME))
    assert all(tile.count == 0 for tile in tiles.values())
    assert tiles["Disputes waiting"].note == "none waiting"


def test_an_overdue_dispute_colours_its_count(client_for, sam, bob):
    now = timezone.now()
    Dispute.objects.create(
        request=RefundRequestFactory(lead__pro=bob, status=Status.DISPUTED),
        message="Please look again.",
        opened_at=now - timedelta(hours=50),
        due_at=now - timedelta(hours=2),
    )
    tile = _tiles(client_for(sam).get(HOME))["Disputes waiting"]
    assert (tile.count, tile.level, tile.note) == (1, "late", "oldest waiting 2 d 2 h · 1 overdue")


def test_support_sees_every_count_but_claims(client_for, sam, work):
    tiles = _tiles(client_for(sam).get(HOME))
    # Support's own list (tests/refunds/test_conversation_resumed.py): nothing resumed here.
    resumed = "Conversation resumed after the credit"
    # … and the reversals pros disputed (tests/refunds/test_reversal_dispute.py).
    reversals = "Disputed reversals waiting"
    assert set(tiles) == set(work) - {"Claimed by me"} | {resumed, reversals}
    assert tiles[resumed].count == 0
    assert (tiles[reversals].count, tiles[reversals].note) == (0, "none waiting")


def test_a_count_is_hidden_from_whoever_may_not_open_its_list(client_for, work):
    clerk = StaffFactory(email="clerk@example.test")
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="refunds", codename__in=["view_refundrequest", "view_dispute"]
        )
    )
    response = client_for(clerk).get(HOME)
    tiles = _tiles(response)
    assert set(tiles) == {"Open requests", "Due within 4 hours", "Overdue", "Disputes waiting"}
    html = response.text
    assert "Credits needing a person" not in html
    assert "/admin/refunds/spotcheck/" not in html
    assert "/admin/refunds/decision/" not in html


def test_staff_with_no_rights_see_no_counts(client_for, db):
    response = client_for(StaffFactory(email="nobody@example.test")).get(HOME)
    assert response.status_code == 200
    assert response.context["sections"] == []
    assert "permission to view or edit anything" in response.text


def test_the_rest_of_the_admin_is_a_link_away(client_for, rita, root):
    html = client_for(root).get(HOME).text
    for url in ("/admin/integrations/apikey/", "/admin/accounts/user/", "/admin/auth/group/"):
        assert f'href="{url}"' in html
    assert 'href="/admin/integrations/apikey/add/"' in html
    html = client_for(rita).get(HOME).text
    assert 'href="/admin/refunds/denialtemplate/"' in html
    assert 'href="/admin/refunds/denialtemplate/add/"' in html
    assert "/admin/integrations/apikey/" not in html


def test_today_is_the_servers_day(client_for, rita, bob, settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: its day rarely matches UTC's
    now = timezone.now()
    midnight = start_of_day(now)
    counted = _decision(DecisionKind.AUTO_APPROVAL, midnight, lead__pro=bob)
    _decision(DecisionKind.AUTO_APPROVAL, midnight - timedelta(seconds=1), lead__pro=bob)
    client = client_for(rita)
    tile = _tiles(client.get(HOME))["Automatic approvals today"]
    assert (tile.count, tile.note) == (1, "since 00:00 +14")
    listing = client.get(tile.url)
    assert _rows(listing) == {counted.pk}
    # The list's own filters show what it was opened on: this kind, decided today.
    cl = listing.context["cl"]
    chosen = {
        spec.title: [c["display"] for c in spec.choices(cl) if c["selected"]]
        for spec in cl.filter_specs
    }
    assert chosen["kind"] == ["Automatic approval (rule)"]
    assert chosen["decided at"] == ["Today"]


@pytest.mark.parametrize("size", [3, 30])
def test_the_home_costs_the_same_queries_for_any_amount_of_work(
    size, client_for, alice, rita, ralph, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(size):
        request = submitted(alice)
        RefundRequestFactory(
            lead__pro=alice,
            status=Status.IN_REVIEW,
            claimed_by=[rita, ralph][i % 2],
            claimed_until=now + timedelta(minutes=10),
        )
        Dispute.objects.create(
            request=RefundRequestFactory(lead__pro=alice, status=Status.DISPUTED),
            message="Look again.",
            due_at=now + timedelta(hours=i - 5),
        )
        decision = _decision(DecisionKind.AUTO_APPROVAL, now, lead__pro=alice)
        SpotCheck.objects.create(decision=decision)
        Credit.objects.create(request=request, amount=Decimal("1"), method="balance", attempts=100)
    client = client_for(rita)
    client.get(HOME)  # the session settles on the first visit
    with django_assert_max_num_queries(HOME_QUERIES):
        response = client.get(HOME)
    tiles = _tiles(response)
    assert tiles["Open requests"].count == 2 * size
    assert tiles["Claimed by me"].count == (size + 1) // 2
    assert tiles["Disputes waiting"].count == size
    assert tiles["Credits needing a person"].count == size
    assert tiles["Spot checks waiting"].count == size
