"""Support's disputes queue: the reply, the decision and who made it; overturn or uphold,
never on a decision of one's own, and never by a reviewer."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages

from accounts.choices import Role
from accounts.models import InboxMessage, User
from refunds.choices import DisputeStatus, Status
from tests.refunds.staff_flows import disputed

DISPUTES = "/admin/refunds/dispute/"
# Session, user, permissions (2), roles, the count, the page, its decisions (one prefetch).
DISPUTES_QUERIES = 8


def page_of(request) -> str:
    return f"{DISPUTES}{request.dispute.pk}/change/"


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def dispute(alice, rita, django_capture_on_commit_callbacks):
    return disputed(django_capture_on_commit_callbacks, alice, rita)


def test_the_queue_lists_open_disputes_with_the_reply_and_the_decider(client_for, dispute, sam):
    response = client_for(sam).get(DISPUTES)
    assert [d.pk for d in response.context["cl"].result_list] == [dispute.dispute.pk]
    html = response.text
    assert "The customer wanted a roof." in html
    assert "by rita@example.test" in html
    assert "Denied" in html


def test_resolved_disputes_leave_the_default_view(client_for, dispute, sam):
    client = client_for(sam)
    client.post(page_of(dispute), {"transition": "overturn", "overturn-note": "Agreed."})
    assert list(client.get(DISPUTES).context["cl"].result_list) == []
    assert len(client.get(DISPUTES, {"state": "all"}).context["cl"].result_list) == 1


def test_the_page_shows_the_reply_the_decision_and_the_thread(client_for, dispute, sam):
    html = client_for(sam).get(page_of(dispute)).text
    assert "The customer wanted a roof." in html
    assert "Decision disputed:</strong> Denied by rita@example.test" in html
    assert "Message 0 from the pro" in html
    assert 'name="transition" value="overturn"' in html
    assert 'name="transition" value="uphold"' in html


def test_support_overturns_and_the_credit_follows(
    client_for, dispute, sam, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(sam).post(
            page_of(dispute),
            {"transition": "overturn", "overturn-note": "The thread shows a roofing job."},
        )
    assert response.url == DISPUTES
    dispute.refresh_from_db()
    assert dispute.status == Status.CREDITED
    assert dispute.dispute.status == DisputeStatus.OVERTURNED
    assert alice.balance() == dispute.lead.price
    latest = InboxMessage.objects.filter(recipient=alice).first()
    assert "The thread shows a roofing job." in latest.body


def test_support_upholds_and_the_pro_is_told_why(
    client_for, dispute, sam, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(sam).post(
            page_of(dispute),
            {
                "transition": "uphold",
                "uphold-explanation": "Plumbing is what the customer asked for.",
                "uphold-guidance": "Keep your categories current.",
            },
        )
    dispute.refresh_from_db()
    assert dispute.status == Status.DENIED
    assert dispute.dispute.status == DisputeStatus.UPHELD
    latest = InboxMessage.objects.filter(recipient=alice).first()
    assert "Plumbing is what the customer asked for." in latest.body


def test_four_eyes_the_decider_gets_no_buttons_and_a_refusal(
    client_for, alice, sue, django_capture_on_commit_callbacks
):
    sue.groups.add(Group.objects.get(name=Role.REVIEWER))
    sue = User.objects.get(pk=sue.pk)
    request = disputed(django_capture_on_commit_callbacks, alice, sue)
    client = client_for(sue)

    queue = client.get(DISPUTES).text
    assert "· you decided it" in queue
    html = client.get(page_of(request)).text
    assert 'name="transition" value="overturn"' not in html
    assert "another member of support must resolve the dispute" in html

    response = client.post(page_of(request), {"transition": "overturn", "overturn-note": "Mine."})
    assert _messages(response) == [
        "Overturn refused: You made a decision on this request, so another member of support "
        "must resolve the dispute."
    ]
    request.refresh_from_db()
    assert request.status == Status.DISPUTED


def test_reviewers_see_the_dispute_but_cannot_resolve_it(client_for, dispute, ralph):
    client = client_for(ralph)
    html = client.get(page_of(dispute)).text
    assert 'name="transition" value="uphold"' not in html
    assert "Support resolves disputes." in html
    response = client.post(
        page_of(dispute),
        {
            "transition": "uphold",
            "uphold-explanation": "No.",
            "uphold-guidance": "No.",
        },
    )
    assert _messages(response) == ["Uphold refused: You do not have permission to do that."]
    dispute.refresh_from_db()
    assert dispute.status == Status.DISPUTED


def test_pros_cannot_reach_the_disputes_queue(client_for, alice):
    response = client_for(alice).get(DISPUTES)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.parametrize("size", [1, 12])
def test_the_disputes_queue_costs_the_same_for_any_number(
    size,
    client_for,
    alice,
    bob,
    rita,
    sam,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    for i in range(size):
        disputed(django_capture_on_commit_callbacks, alice if i % 2 else bob, rita)
    client = client_for(sam)
    client.get(DISPUTES)
    with django_assert_max_num_queries(DISPUTES_QUERIES):
        response = client.get(DISPUTES)
    assert len(response.context["cl"].result_list) == size
