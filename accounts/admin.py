"""The back office's people pages.

A person who is both a pro and staff could work on their own refund requests (the services
refuse that too, refunds.services.core.check_not_own), so the pages that give a role refuse to
make anyone both unless a superuser ticks "Allow both roles", shown to superusers only.
"""

from collections.abc import Iterable

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.choices import Role
from accounts.models import InboxMessage, LedgerEntry, Market, ProProfile, ServiceCategory, User
from accounts.money import money_change

STAFF_ROLES = frozenset({Role.REVIEWER.value, Role.SUPPORT.value})
ALLOW_BOTH = "allow_both_roles"
BOTH_ROLES = (
    "{what}: a person who is both a pro and staff could decide their own refund requests. "
    "Only a superuser can allow it, by ticking “Allow both roles”."
)


def allow_both_field() -> forms.BooleanField:
    return forms.BooleanField(
        label="Allow both roles",
        required=False,
        help_text="Superusers only: let this person be a pro and staff at once. They still "
        "cannot act on their own refund requests.",
    )


def is_staff_role(is_staff: bool, is_superuser: bool, group_names: Iterable[str]) -> bool:
    """Staff: the admin's door (is_staff, superuser) or a reviewer's or support's group."""
    return is_staff or is_superuser or bool(STAFF_ROLES & set(group_names))


def group_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True)) if user.pk else set()


def has_profile(user: User) -> bool:
    return bool(user.pk) and ProProfile.objects.filter(user_id=user.pk).exists()


class UserForm(UserChangeForm):
    allow_both_roles = allow_both_field()
    may_allow_both = False  # UserAdmin.get_form: True for a superuser

    def clean(self):
        cleaned = super().clean()
        user = self.instance  # still as stored: the form's values are applied after clean()
        before = group_names(user)
        after = {g.name for g in cleaned["groups"]} if "groups" in cleaned else before
        pro_before = has_profile(user) or Role.PRO.value in before
        pro_after = has_profile(user) or Role.PRO.value in after
        staff_before = is_staff_role(user.is_staff, user.is_superuser, before)
        staff_after = is_staff_role(
            cleaned.get("is_staff", user.is_staff),
            cleaned.get("is_superuser", user.is_superuser),
            after,
        )
        newly_both = pro_after and staff_after and not (pro_before and staff_before)
        if newly_both and not (self.may_allow_both and cleaned.get(ALLOW_BOTH)):
            what = "This user is a pro" if pro_before else "This user is staff"
            raise ValidationError(BOTH_ROLES.format(what=what), code="both_roles")
        return cleaned


class ProProfileFormSet(forms.BaseInlineFormSet):
    """The pro profile on the user's page: adding one to a staff member needs a superuser."""

    may_allow_both = False  # ProProfileInline.get_formset: True for a superuser

    def clean(self):
        super().clean()
        adding = any(
            form.instance.pk is None and form.has_changed() for form in self.forms
        ) and not has_profile(self.instance)
        if not adding:
            return
        user = self.instance  # with the user form's values applied (ModelAdmin.save_form)
        chosen = set(
            Group.objects.filter(pk__in=self.data.getlist("groups")).values_list("name", flat=True)
        )
        if not is_staff_role(user.is_staff, user.is_superuser, chosen | group_names(user)):
            return
        if not (self.may_allow_both and self.data.get(ALLOW_BOTH)):
            raise ValidationError(BOTH_ROLES.format(what="This user is staff"), code="both_roles")


class ProProfileInline(admin.StackedInline):
    model = ProProfile
    formset = ProProfileFormSet
    can_delete = False
    filter_horizontal = ("categories",)

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.may_allow_both = request.user.is_superuser
        return formset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserForm
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

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not request.user.is_superuser:
            return fieldsets
        return (*fieldsets, ("Both roles", {"fields": (ALLOW_BOTH,)}))

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.may_allow_both = request.user.is_superuser
        return form


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin[Market]):
    list_display = ("name", "country_code", "time_zone")
    search_fields = ("name",)


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin[ServiceCategory]):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


class ProProfileForm(forms.ModelForm):
    allow_both_roles = allow_both_field()
    may_allow_both = False  # ProProfileAdmin.get_form: True for a superuser

    class Meta:
        model = ProProfile
        fields = ("user", "business_name", "market", "categories", "service_area")

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if user is None or (self.instance.pk and self.instance.user_id == user.pk):
            return cleaned
        staff = is_staff_role(user.is_staff, user.is_superuser, group_names(user))
        if staff and not (self.may_allow_both and cleaned.get(ALLOW_BOTH)):
            self.add_error("user", BOTH_ROLES.format(what="This user is staff"))
        return cleaned


@admin.register(ProProfile)
class ProProfileAdmin(admin.ModelAdmin[ProProfile]):
    form = ProProfileForm
    list_display = ("business_name", "user", "market")
    list_filter = ("market",)
    list_select_related = ("user", "market")
    search_fields = ("business_name", "user__email")
    filter_horizontal = ("categories",)

    def get_fields(self, request: HttpRequest, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != ALLOW_BOTH]
        return [*fields, ALLOW_BOTH] if request.user.is_superuser else fields

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.may_allow_both = request.user.is_superuser
        return form


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
