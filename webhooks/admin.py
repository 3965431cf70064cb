import json

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.templatetags.local_time import when
from webhooks import delivery as sending
from webhooks.choices import EventType
from webhooks.models import Delivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label="Events",
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Send only what the receiver handles.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """The marketplace's receivers. The signing secret is shown once, on the page after the
    endpoint is created; to change it, create another endpoint and deactivate this one."""

    form = WebhookEndpointForm
    list_display = ("url", "event_list", "active", "created")
    list_filter = ("active",)
    search_fields = ("url",)
    readonly_fields = ("created_at",)

    @admin.display(description="created", ordering="created_at")
    def created(self, endpoint: WebhookEndpoint) -> str:
        return when(endpoint.created_at)

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        obj.events = sorted(obj.events)
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Webhook endpoint created",
            "endpoint": obj,
        }
        # The admin's views are never_cache, so the page with the secret is not kept either.
        return TemplateResponse(request, "webhooks/endpoint_created.html", context)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    """The delivery log: every event sent to every endpoint, how it went, and Send again."""

    # The endpoint is on each delivery's page and in the filter: the row stays one screen wide.
    list_display = (
        "event_label",
        "status",
        "response_code",
        "attempts",
        "last_attempt",
        "next_attempt",
    )
    list_filter = ("status", "event__type", "endpoint")
    search_fields = ("event__public_id", "event__subject", "endpoint__url")
    list_select_related = ("event", "endpoint")
    fields = (
        "event_id_",
        "event_type",
        "subject",
        "sequence",
        "endpoint",
        "status",
        "response_code",
        "last_error",
        "attempts",
        "last_attempt",
        "next_attempt",
        "retried_until",
        "payload",
    )
    readonly_fields = fields
    actions = ("send_again",)

    @admin.display(description="event", ordering="event_id")
    def event_label(self, delivery: Delivery) -> str:
        event = delivery.event
        return format_html("{} #{}<br><small>{}</small>", event.type, event.sequence, event.subject)

    @admin.display(description="event id")
    def event_id_(self, delivery: Delivery) -> str:
        return delivery.event.public_id

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description="subject", ordering="event__subject")
    def subject(self, delivery: Delivery) -> str:
        return delivery.event.subject

    @admin.display(description="sequence")
    def sequence(self, delivery: Delivery) -> int:
        return delivery.event.sequence

    @admin.display(description="last attempt", ordering="last_attempt_at")
    def last_attempt(self, delivery: Delivery) -> str:
        return when(delivery.last_attempt_at) or "—"

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: Delivery) -> str:
        return when(delivery.next_attempt_at) or "—"

    @admin.display(description="retried until")
    def retried_until(self, delivery: Delivery) -> str:
        return when(delivery.retry_until)

    @admin.display(description="body sent (indented here)")
    def payload(self, delivery: Delivery) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(json.loads(sending.body(delivery.event)), indent=2)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False  # the log is kept

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(description="Send again", permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = sending.send_again(queryset)
        self.message_user(request, f"Sending {count} deliver{'ies' if count != 1 else 'y'} again.")
