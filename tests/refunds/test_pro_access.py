"""Every pro page is for signed-in pros: others are sent to sign in, to the admin, or get 404."""

import pytest
from django.urls import reverse

from tests.factories import InboxMessageFactory, RefundRequestFactory, UserFactory


@pytest.fixture
def urls(lead):
    request = RefundRequestFactory(lead=lead)
    message = InboxMessageFactory(recipient=lead.pro)
    return [
        ("get", reverse("messages")),
        ("get", reverse("lead_thread", args=[lead.pk])),
        ("post", reverse("send_message", args=[lead.pk])),
        ("post", reverse("log_call", args=[lead.pk])),
        ("get", reverse("report", args=[lead.pk])),
        ("post", reverse("withdraw_request", args=[request.pk])),
        ("get", reverse("inbox")),
        ("get", reverse("inbox_message", args=[message.pk])),
        ("post", reverse("dispute", args=[message.pk])),
        ("get", reverse("credits")),
    ]


def test_it_sends_visitors_to_sign_in(client, urls):
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_it_sends_reviewers_and_support_to_the_admin(client_for, urls, rita, sam):
    for user in (rita, sam):
        client = client_for(user)
        for method, url in urls:
            response = getattr(client, method)(url)
            assert response.status_code == 302, url
            assert response.url == reverse("admin:index"), url


def test_it_hides_pro_pages_from_users_without_a_role(client_for, urls):
    client = client_for(UserFactory())
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url


def test_it_hides_another_pros_objects(client_for, urls, bob):
    client = client_for(bob)
    for method, url in urls:
        if url in (reverse("messages"), reverse("inbox"), reverse("credits")):
            continue
        assert getattr(client, method)(url).status_code == 404, url
