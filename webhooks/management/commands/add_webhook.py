"""manage.py add_webhook URL [--events TYPE ...]: a new endpoint; its signing secret is the
last line printed, and the only time it is shown."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from webhooks.choices import EventType
from webhooks.models import WebhookEndpoint


class Command(BaseCommand):
    help = "Add a webhook endpoint; prints its signing secret (shown once) as the last line."

    def add_arguments(self, parser):
        parser.add_argument("url", help="where the events are POSTed (http or https)")
        parser.add_argument(
            "--events",
            nargs="+",
            choices=EventType.values,
            default=EventType.values,
            metavar="TYPE",
            help=f"the event types to send (default: all of {', '.join(EventType.values)})",
        )

    def handle(self, *args, url: str, events: list[str], **options):
        endpoint = WebhookEndpoint(url=url, events=sorted(set(events)))
        try:
            endpoint.full_clean()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        endpoint.save()
        self.stdout.write(f"Webhook endpoint {endpoint.pk} for {endpoint.url}")
        self.stdout.write(f"Events: {', '.join(endpoint.events)}")
        self.stdout.write("Signing secret (shown once; keep it with the receiver):")
        self.stdout.write(endpoint.secret)
