"""The market peer-statistics job, and report submissions reading its snapshot."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refunds import services, tasks
from refunds.choices import Reason, Status
from refunds.models import MarketPeerStats
from tests.factories import LeadFactory, MarketFactory, ProFactory, RefundRequestFactory

pytestmark = pytest.mark.django_db


def pro_with(market, leads: int, reported: int):
    pro = ProFactory(profile__market=market)
    made = [LeadFactory(pro=pro) for _ in range(leads)]
    for lead in made[:reported]:
        RefundRequestFactory(lead=lead)
    return pro


def test_it_snapshots_each_markets_rates_per_pro(market):
    other = MarketFactory(name="Denver, CO")
    a = pro_with(market, leads=4, reported=1)
    b = pro_with(market, leads=2, reported=0)
    c = pro_with(other, leads=5, reported=5)
    assert tasks.compute_peer_stats() == 2
    assert MarketPeerStats.objects.get(market=market).rates == {str(a.pk): 0.25, str(b.pk): 0.0}
    assert MarketPeerStats.objects.get(market=other).rates == {str(c.pk): 1.0}


def test_old_leads_fall_out_of_the_window(market, settings):
    pro = ProFactory(profile__market=market)
    LeadFactory(pro=pro, received_at=timezone.now() - timedelta(days=91))
    LeadFactory(pro=pro)
    services.compute_peer_stats()
    assert MarketPeerStats.objects.get(market=market).rates == {str(pro.pk): 0.0}


def test_a_market_without_leads_loses_its_snapshot(market):
    pro = pro_with(market, leads=1, reported=0)
    services.compute_peer_stats()
    pro.leads.all().delete()
    services.compute_peer_stats()
    assert not MarketPeerStats.objects.filter(market=market).exists()


def test_a_submission_compares_with_the_snapshot_without_the_pro_itself(market, alice):
    peers = [pro_with(market, leads=10, reported=n % 2) for n in range(6)]
    leads = [LeadFactory(pro=alice) for _ in range(10)]
    for lead in leads[:4]:
        RefundRequestFactory(lead=lead)
    services.compute_peer_stats()
    # The snapshot now knows alice's own 40%: it must not count her as her own peer.
    request = services.submit_report(pro=alice, lead_id=leads[5].pk, reason=Reason.SPAM)
    peers_seen = request.assessment["peers"]
    assert peers_seen["peers"] == len(peers)
    assert peers_seen["comparable"] and peers_seen["auto_deny"]
    assert request.status == Status.REVIEWED


def test_a_submission_reads_no_more_rows_as_the_market_grows(market, alice):
    """The submission's queries do not grow with the market's leads (the snapshot is one row)."""

    def submit_one() -> int:
        lead = LeadFactory(pro=alice)
        with CaptureQueriesContext(connection) as queries:
            services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.WRONG_JOB)
        return len(queries)

    for _ in range(5):
        pro_with(market, leads=3, reported=1)
    services.compute_peer_stats()
    small = submit_one()
    for _ in range(20):
        pro_with(market, leads=5, reported=1)
    services.compute_peer_stats()
    assert submit_one() == small
    sql = " ".join(q["sql"] for q in queries_of_last_submission(alice))
    assert "GROUP BY" not in sql


def queries_of_last_submission(alice):
    lead = LeadFactory(pro=alice)
    with CaptureQueriesContext(connection) as queries:
        services.submit_report(pro=alice, lead_id=lead.pk, reason=Reason.SPAM)
    return queries.captured_queries
