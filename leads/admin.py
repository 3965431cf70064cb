from django.contrib import admin

from accounts.money import money
from leads.models import ContactAttempt, Lead, Message
from leads.templatetags.contact import phone


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("sent_at", "sender", "body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ContactAttemptInline(admin.TabularInline):
    model = ContactAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "channel", "outcome", "source", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin[Lead]):
    """Leads come from the marketplace: reviewers read them here, nobody edits them."""

    list_display = ("customer_name", "pro", "category", "location", "price_shown", "received_at")
    list_filter = ("category", "payment_method", "pro__pro_profile__market")
    list_select_related = ("pro", "category")
    search_fields = ("customer_name", "customer_phone", "customer_email", "marketplace_id")
    date_hierarchy = "received_at"
    inlines = (MessageInline, ContactAttemptInline)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # Nobody edits a lead, so its page shows every field read-only: the price and the phone
    # number as the rest of the product writes them.
    SHOWN = {"price": "price_shown", "customer_phone": "phone_shown"}
    readonly_fields = tuple(SHOWN.values())

    def get_fields(self, request, obj=None):
        shown = [self.SHOWN.get(name, name) for name in super().get_fields(request, obj)]
        return list(dict.fromkeys(shown))

    @admin.display(description="Price", ordering="price")
    def price_shown(self, obj: Lead) -> str:
        return money(obj.price)

    @admin.display(description="Customer phone")
    def phone_shown(self, obj: Lead) -> str:
        profile = getattr(obj.pro, "pro_profile", None)
        return phone(obj.customer_phone, profile.market.country_code if profile else "")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
