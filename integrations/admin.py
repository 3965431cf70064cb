from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from integrations.choices import Scope
from integrations.models import ApiKey, ProLink


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label="Allowed operations",
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Give each integration only what it needs.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes")


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Create a key (its secret is shown once, on the page after saving) and revoke keys.

    Keys are never deleted, so the list stays a record of who could call the API.
    """

    form = ApiKeyForm
    list_display = ("name", "prefix", "allowed", "created_at", "last_used_at", "state")
    list_filter = (StateFilter,)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ("revoke",)

    @admin.display(description="allowed operations")
    def allowed(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        return "Active" if key.is_active else "Revoked"

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None):
        if obj is None:
            return ("name", "scopes")
        return ("name", "scopes", *self.readonly_fields)

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        # A revoked key is history: it can be looked at, not edited back to life.
        if obj is not None and not obj.is_active:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
            # Kept on the instance only until response_add shows it; never stored.
            obj._raw_key = obj.set_secret()  # type: ignore[attr-defined]
        obj.scopes = sorted(obj.scopes)
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "API key created",
            "key": obj,
            "raw_key": getattr(obj, "_raw_key", ""),
        }
        # The admin's views are never_cache, so the page with the secret is not kept either.
        return TemplateResponse(request, "integrations/apikey_created.html", context)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} API key{'s' if count != 1 else ''}.")


@admin.register(ProLink)
class ProLinkAdmin(admin.ModelAdmin[ProLink]):
    list_display = ("marketplace_pro_id", "pro", "linked_at")
    readonly_fields = ("linked_at",)
    search_fields = ("marketplace_pro_id", "pro__email", "pro__pro_profile__business_name")
    autocomplete_fields = ("pro",)
