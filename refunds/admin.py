from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from refunds.models import Credit, Decision, DenialTemplate, Dispute, RefundEvent, RefundRequest


class RefundEventInline(admin.TabularInline):
    model = RefundEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "actor", "action", "from_status", "to_status", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "lead", "pro", "reason", "status", "submitted_at", "due_at")
    list_filter = ("status", "reason")
    list_select_related = ("lead", "lead__category", "pro")
    inlines = (RefundEventInline,)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("request", "outcome", "kind", "decided_by", "decided_at")
    list_filter = ("outcome", "kind")
    list_select_related = ("request", "decided_by")


@admin.register(Credit)
class CreditAdmin(ReadOnlyAdmin):
    list_display = ("request", "amount", "method", "status", "attempts", "posted_at", "expected_on")
    list_filter = ("status", "method")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ("request", "status", "opened_at")
    list_filter = ("status",)


@admin.register(RefundEvent)
class RefundEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "actor", "action", "from_status", "to_status")
    list_filter = ("action",)
    list_select_related = ("request", "actor")


@admin.register(DenialTemplate)
class DenialTemplateAdmin(admin.ModelAdmin[DenialTemplate]):
    list_display = ("title", "reason")
    list_filter = ("reason",)
