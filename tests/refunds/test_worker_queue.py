"""The worker's queue table: fetching the next tasks must not read the whole table.

django-q2's ORM broker asks for `key = <cluster> AND lock < now()`. Tasks already handed out
carry a lock in the future, and on PostgreSQL every fetch and acknowledgement leaves dead rows
until a vacuum; migration refunds 0007 indexes (key, lock) so the fetch skips both.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ


def test_the_queue_table_is_indexed_on_cluster_and_lock(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, OrmQ._meta.db_table)
    assert constraints["ormq_key_lock"]["columns"] == ["key", "lock"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads PostgreSQL's plan for the broker's fetch"
)
def test_fetching_the_next_tasks_reads_the_index_not_the_table(db):
    broker = get_broker()
    now = timezone.now()
    # Thousands handed out to workers (locked for a while), a few waiting.
    OrmQ.objects.bulk_create(
        [OrmQ(key=broker.list_key, payload="x", lock=now + timedelta(minutes=5))] * 3000
        + [OrmQ(key=broker.list_key, payload="x", lock=now - timedelta(seconds=1))] * 10
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_q_ormq")
    # The broker's own query (django_q.brokers.orm.ORM.dequeue).
    fetch = OrmQ.objects.using("default").filter(key=broker.list_key, lock__lt=now)[:10]
    plan = fetch.explain()
    assert "ormq_key_lock" in plan, plan
    assert len(fetch) == 10
