"""The read replica's routing, with a `replica` alias that mirrors the test database.

These run only when DATABASE_REPLICA_URL is set; tests/test_db_router.py runs this file so in
a second pytest process (settings add the alias, with TEST MIRROR "default", at start-up).
The tests are transactional: the replica is a second connection, which sees committed rows.
"""

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.http import StreamingHttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts.choices import Role
from accounts.models import Market, User
from config.db_router import REPLICA, ReplicaRouter, replica_reads, using_replica
from leads.models import Lead
from refunds import services
from refunds.choices import Status
from refunds.models import MarketPeerStats, RefundRequest
from tests.factories import LeadFactory, StaffFactory
from tests.refunds.staff_flows import submitted

if REPLICA not in settings.DATABASES:
    pytest.skip(
        "needs DATABASE_REPLICA_URL (tests/test_db_router.py runs this file with it)",
        allow_module_level=True,
    )
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


class Queries:
    """The SQL each alias ran inside the block."""

    def __enter__(self):
        self.primary = CaptureQueriesContext(connections["default"]).__enter__()
        self.replica = CaptureQueriesContext(connections[REPLICA]).__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)

    @staticmethod
    def sql(captured) -> list[str]:
        return [q["sql"] for q in captured.captured_queries]


def test_the_replica_mirrors_the_test_database():
    alias = settings.DATABASES[REPLICA]
    assert alias["TEST"]["MIRROR"] == "default"
    assert ReplicaRouter.__module__ + ".ReplicaRouter" in settings.DATABASE_ROUTERS[0]
    assert (
        connections[REPLICA].settings_dict["NAME"] == connections["default"].settings_dict["NAME"]
    )


def test_reads_inside_the_mark_go_to_the_replica(market):
    with Queries() as q, using_replica():
        names = [m.name for m in Market.objects.all()]
    assert names == [market.name]
    assert len(q.replica) == 1 and "accounts_market" in q.sql(q.replica)[0]
    assert len(q.primary) == 0


def test_writes_inside_the_mark_go_to_the_primary():
    with Queries() as q, using_replica():
        Market.objects.create(name="Denver, CO")
        Market.objects.filter(name="Denver, CO").update(country_code="US")
    assert len(q.replica) == 0
    assert any(s.startswith("INSERT") for s in q.sql(q.primary))
    assert any(s.startswith("UPDATE") for s in q.sql(q.primary))


def test_reads_outside_the_mark_use_the_primary(market):
    with Queries() as q:
        assert Market.objects.count() == 1
    assert len(q.replica) == 0 and len(q.primary) == 1


def test_an_object_read_from_the_replica_is_saved_and_followed_on_the_primary(lead):
    with using_replica():
        read = Lead.objects.get(pk=lead.pk)
    assert read._state.db == REPLICA
    with Queries() as q:
        read.location = "Round Rock, TX"
        read.save(update_fields=["location"])
        assert read.pro.email == "alice@example.test"
    assert len(q.replica) == 0
    assert len(q.primary) == 2


def test_reads_inside_a_transaction_on_the_primary_stay_on_it(market):
    with Queries() as q, transaction.atomic(), using_replica():
        Market.objects.create(name="Denver, CO")
        assert Market.objects.count() == 2  # sees its own, uncommitted write
    assert len(q.replica) == 0


def test_the_marked_view_reads_the_user_from_the_primary_and_the_rest_from_the_replica(
    market, rita
):
    @replica_reads
    def heavy(request):
        template = engines["django"].from_string("{% for m in markets %}{{ m.name }};{% endfor %}")
        return TemplateResponse(request, template, {"markets": Market.objects.order_by("name")})

    request = RequestFactory().get("/heavy/")
    request.user = SimpleLazyObject(lambda: User.objects.get(pk=rita.pk))
    with Queries() as q:
        response = heavy(request)
    assert response.content == b"Austin, TX;"
    assert any("accounts_user" in s for s in q.sql(q.primary))
    assert [s for s in q.sql(q.replica) if "accounts_market" in s]
    assert not any("accounts_user" in s for s in q.sql(q.replica))


def test_a_marked_streamed_export_reads_each_chunk_from_the_replica(market):
    @replica_reads
    def export(request):
        def rows():
            yield "name\n"
            for m in Market.objects.order_by("name").iterator():
                yield f"{m.name}\n"

        return StreamingHttpResponse(rows(), content_type="text/csv")

    response = export(RequestFactory().get("/export.csv"))
    with Queries() as q:
        body = b"".join(response.streaming_content)
        assert Market.objects.count() == 1  # between chunks and after: the primary
    assert body == b"name\nAustin, TX\n"
    assert len(q.replica) == 1 and len(q.primary) == 1


def test_the_review_path_uses_the_primary_only(client_for, alice, rita):
    request = submitted(alice)
    client = client_for(rita)
    page = f"/admin/refunds/refundrequest/{request.pk}/change/"
    with Queries() as q:
        assert client.get("/admin/refunds/refundrequest/").status_code == 200
        assert client.get(page).status_code == 200
        assert client.post(page, {"transition": "approve"}).status_code == 302
    request.refresh_from_db()
    assert request.status in (Status.REVIEWED, Status.CREDITED)
    assert len(q.replica) == 0
    assert RefundRequest.objects.filter(pk=request.pk).exists()


def test_the_peer_statistics_job_reads_from_the_replica_and_writes_to_the_primary(lead, bob):
    LeadFactory(pro=bob)
    with Queries() as q:
        assert services.compute_peer_stats() == 1
    replica, primary = q.sql(q.replica), q.sql(q.primary)
    assert len(replica) == 2
    assert any("leads_lead" in s for s in replica)
    assert any("refunds_refundrequest" in s for s in replica)
    assert not any("leads_lead" in s for s in primary)
    assert any("refunds_marketpeerstats" in s and s.startswith("INSERT") for s in primary)
    stats = MarketPeerStats.objects.get(market=lead.pro.pro_profile.market)
    assert stats.rates == {str(lead.pro_id): 0.0, str(bob.pk): 0.0}


def test_nothing_is_migrated_on_the_replica():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "leads") is False
    assert router.allow_migrate("default", "leads") is None
    assert router.db_for_write(Market) == "default"
    with using_replica():
        assert router.db_for_write(Market) == "default"
        assert router.db_for_read(Market) == REPLICA
    assert router.db_for_read(Market) == "default"


def test_marks_nest_and_end_with_their_block():
    router = ReplicaRouter()
    with using_replica():
        with using_replica():
            pass
        assert router.db_for_read(Market) == REPLICA
    assert router.db_for_read(Market) == "default"
    with pytest.raises(RuntimeError), using_replica():
        raise RuntimeError("a failing read")
    assert router.db_for_read(Market) == "default"


def test_the_analytics_pages_read_from_the_replica(client):
    submitted(LeadFactory().pro)
    client.force_login(StaffFactory(roles=[Role.REVIEWER]))
    with Queries() as seen:
        response = client.get(reverse("analytics:page", args=["promise"]), {"csv": "open_by_age"})
    assert response.status_code == 200
    figures = [sql for sql in Queries.sql(seen.replica) if "refunds_refundrequest" in sql]
    assert figures, "the page's figures were read from the primary"
    assert not [sql for sql in Queries.sql(seen.primary) if "refunds_refundrequest" in sql]
