"""The back office's webhook pages: endpoints (the secret shown once) and the delivery log
with Send again."""

import pytest
from django.urls import reverse

from tests.refunds.staff_flows import submitted
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

LOG = reverse("admin:webhooks_delivery_changelist")


def test_an_endpoint_added_in_the_back_office_shows_its_secret_once(client_for, root, receiver):
    client = client_for(root)
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": receiver.url, "events": ["refund.credited", "refund.approved"], "active": "on"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.active) == (
        receiver.url,
        ["refund.approved", "refund.credited"],
        True,
    )
    assert response.status_code == 200
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    change = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()


def test_an_endpoint_needs_a_url_and_at_least_one_event(client_for, root):
    response = client_for(root).post(
        reverse("admin:webhooks_webhookendpoint_add"), {"url": "not a url", "active": "on"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"url", "events"}
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_status_response_code_time_and_attempts(
    client_for, root, alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [502]
    with django_capture_on_commit_callbacks(execute=True):
        request = submitted(alice)
    delivery = Delivery.objects.get()
    page = client_for(root).get(LOG).content.decode()
    row = page[page.index('<td class="action-checkbox">') :]
    row = row[: row.index("</tr>")]
    columns = (
        "refund.submitted #1",
        f"refund_request:{request.pk}",
        "Pending",
        "502",
        ">1<",
        "UTC",
    )
    for shown in columns:
        assert shown in row, shown
    detail = client_for(root).get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert delivery.event.public_id in detail.content.decode()
    assert "&quot;type&quot;: &quot;refund.submitted&quot;" in detail.content.decode()


def test_the_delivery_log_reads_a_page_in_a_fixed_number_of_queries(
    client_for, root, alice, endpoint, django_assert_max_num_queries
):
    for _ in range(5):
        submitted(alice)
    client = client_for(root)
    with django_assert_max_num_queries(12):
        response = client.get(LOG)
    assert response.context["cl"].result_count == 5


def test_send_again_sends_the_selected_deliveries_now(
    client_for, root, alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.then = 500
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    delivery = Delivery.objects.get()
    receiver.then = 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(root).post(
            LOG, {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True
        )
    assert "Sending 1 delivery again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("succeeded", 200, 2)
    bodies = receiver.bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1]


def test_send_again_revives_a_failed_delivery_for_another_day(
    client_for, root, alice, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted(alice)
    Delivery.objects.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    receiver.then = 503
    with django_capture_on_commit_callbacks(execute=True):
        client_for(root).post(
            LOG, {"action": "send_again", "_selected_action": [Delivery.objects.get().pk]}
        )
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("pending", 503)
    assert delivery.retry_until > delivery.last_attempt_at
    assert delivery.event.type == EventType.REFUND_SUBMITTED


def test_staff_without_the_right_see_no_send_again(client_for, rita):
    assert client_for(rita).get(LOG).status_code == 403
