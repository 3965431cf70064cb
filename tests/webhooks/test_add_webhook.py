"""manage.py add_webhook URL [--events …]: the secret is the last line printed."""

import io

import pytest
from django.core.management import CommandError, call_command

from webhooks.choices import EventType
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def add_webhook(*args) -> list[str]:
    out = io.StringIO()
    call_command("add_webhook", *args, stdout=out)
    return out.getvalue().splitlines()


def test_it_adds_an_endpoint_for_every_event_and_prints_its_secret_last():
    lines = add_webhook("https://marketplace.example.com/hooks")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://marketplace.example.com/hooks"
    assert endpoint.events == sorted(EventType.values)
    assert endpoint.active
    assert lines[-1] == endpoint.secret
    assert endpoint.secret not in "\n".join(lines[:-1])


def test_it_subscribes_only_the_events_named():
    lines = add_webhook("https://m.example.com/h", "--events", "refund.credited", "refund.approved")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["refund.approved", "refund.credited"]
    assert lines[-1] == endpoint.secret


def test_each_endpoint_gets_its_own_secret():
    first = add_webhook("https://m.example.com/a")[-1]
    second = add_webhook("https://m.example.com/b")[-1]
    assert first != second and len(first) > 40


@pytest.mark.parametrize(
    "args",
    [("not-a-url",), ("ftp://m.example.com/h",), ("https://m.example.com/h", "--events", "nope")],
)
def test_it_refuses_a_bad_url_or_event_and_stores_nothing(args):
    with pytest.raises((CommandError, SystemExit)):
        add_webhook(*args)
    assert not WebhookEndpoint.objects.exists()
