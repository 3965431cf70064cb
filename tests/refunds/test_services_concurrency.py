"""Two reviewers pressing Approve at the same moment: one decision, one credit, one refusal."""

import threading

import pytest
from django.db import connection, connections

from refunds import services
from refunds.choices import Status
from refunds.models import Credit, Decision
from tests.refunds.staff_flows import submitted

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks between connections; SQLite serialises writers itself",
    ),
]


def test_two_reviewers_approving_at_once_yield_one_decision_and_one_credit(alice, rita, ralph):
    request = submitted(alice)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(reviewer):
        start.wait()
        try:
            services.approve(reviewer=reviewer, request_id=request.pk)
            outcomes.append("approved")
        except services.RefundError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(r,)) for r in (rita, ralph)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["approved", "refused"]
    assert Decision.objects.filter(request=request).count() == 1
    assert Credit.objects.filter(request=request).count() == 1
    request.refresh_from_db()
    assert request.status in (Status.REVIEWED, Status.CREDITED)
