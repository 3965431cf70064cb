"""The list filters of the queue, the disputes queue and the credits list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from refunds import services
from refunds.choices import OPEN_STATUSES, DisputeStatus, Status

DUE_SOON_LABEL = f"Due within {services.DUE_SOON // timedelta(hours=1)} hours"


class DefaultChoiceFilter(admin.SimpleListFilter):
    """A filter that opens on `default` (the work still to do), with no 'All' of Django's own:
    'all' is one of its lookups, so the default can be left."""

    default = ""

    def value(self) -> str:
        return super().value() or self.default

    def choices(self, changelist: Any):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class StateFilter(DefaultChoiceFilter):
    """Opens on the work still to do; every state, and all of them, one click away."""

    title = "state"
    parameter_name = "state"
    default = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open (to decide)"), *Status.choices, ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "all":
            return queryset
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset.filter(status__in=OPEN_STATUSES)


class DisputeStateFilter(DefaultChoiceFilter):
    title = "state"
    parameter_name = "state"
    default = DisputeStatus.OPEN

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*DisputeStatus.choices, ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class ReversalDisputeStateFilter(DisputeStateFilter):
    """The disputes of reversals, in the words support answers them with."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (DisputeStatus.OPEN, "Open"),
            (DisputeStatus.OVERTURNED, "Credit restored"),
            (DisputeStatus.UPHELD, "Reversal kept"),
            ("all", "All"),
        ]


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("soon", DUE_SOON_LABEL), ("no", "On time")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(services.overdue_condition(now))
        if self.value() == "soon":
            return queryset.filter(services.due_soon_condition(now))
        if self.value() == "no":
            return queryset.exclude(services.overdue_condition(now))
        return queryset


class ClaimFilter(admin.SimpleListFilter):
    title = "claimed"
    parameter_name = "claimed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "By me"), ("others", "By someone else"), ("nobody", "Not claimed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "me":
            return queryset.live_claims(now).filter(claimed_by=request.user)
        if self.value() == "others":
            return queryset.live_claims(now).exclude(claimed_by=request.user)
        if self.value() == "nobody":
            return queryset.without_live_claim(now)
        return queryset


RESUMED_LABEL = "Conversation resumed after the credit"


class ResumedFilter(admin.SimpleListFilter):
    """Credited requests whose thread carried on afterwards (services.resumed_condition):
    support's list, where a credit may be reversed. The queue offers it to support only
    (RefundRequestAdmin.get_list_filter): for anyone else ?resumed= is an unknown filter."""

    title = "conversation"
    parameter_name = "resumed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", RESUMED_LABEL)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(services.resumed_condition(timezone.now()))
        return queryset


class MarketFilter(admin.RelatedFieldListFilter):
    @property
    def include_empty_choice(self) -> bool:
        return False


class StuckCreditFilter(admin.SimpleListFilter):
    """Credits the worker gave up on (services.stuck_credits): support's to-do list."""

    title = "attempts"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Needs a person (gave up)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(pk__in=services.stuck_credits().values("pk"))
        return queryset


class CreditProgressFilter(admin.SimpleListFilter):
    """Credits on their way: card refunds the provider accepted that have not reached the card
    yet, and credits whose last try failed that the worker is still retrying."""

    title = "payment"
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("settling", "On its way to the card"), ("retrying", "Failed, being retried")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "settling":
            today = timezone.now().date()
            return queryset.filter(pk__in=services.settling_card_refunds(today).values("pk"))
        if self.value() == "retrying":
            return queryset.filter(pk__in=services.retrying_credits().values("pk"))
        return queryset


class AfterDecisionFilter(admin.SimpleListFilter):
    """Credits that changed after the first payment: topped up when support overturned a
    partial credit, or reversed because the conversation resumed (Analytics → Money)."""

    title = "after the decision"
    parameter_name = "after"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("topped_up", "Topped up after a dispute"), ("reversed", "Reversed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "topped_up":
            return queryset.filter(top_up__isnull=False)
        if self.value() == "reversed":
            return queryset.filter(reversal__isnull=False)
        return queryset
