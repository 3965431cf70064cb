from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import InboxMessage, LedgerEntry, Market, ProProfile, ServiceCategory, User
from accounts.money import money_change


class ProProfileInline(admin.StackedInline):
    model = ProProfile
    can_delete = False
    filter_horizontal = ("categories",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name", "pro_profile__business_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (ProProfileInline,)


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin[Market]):
    list_display = ("name", "country_code", "time_zone")
    search_fields = ("name",)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin[ServiceCategory]):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(ProProfile)
class ProProfileAdmin(admin.ModelAdmin[ProProfile]):
    list_display = ("business_name", "user", "market")
    list_filter = ("market",)
    list_select_related = ("user", "market")
    search_fields = ("business_name", "user__email")
    filter_horizontal = ("categories",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are written by the product only: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "pro", "kind", "amount_shown", "memo")
    list_filter = ("kind",)
    list_select_related = ("pro",)
    search_fields = ("pro__email", "memo")
    date_hierarchy = "created_at"

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, obj: LedgerEntry) -> str:
        return money_change(obj.amount)


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "subject", "read_at", "emailed_at")
    list_select_related = ("recipient",)
    search_fields = ("recipient__email", "subject")
