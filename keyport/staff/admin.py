from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.http import HttpRequest

from keyport.audit.services import Actor
from keyport.facilities.models import Location
from keyport.lib import form_fields
from keyport.lib.admin import BoundedInput
from keyport.staff.authentication import ThrottledAuthenticationForm, needs_two_factor_setup
from keyport.staff.models import Role, StaffUser
from keyport.staff.queries import staff_has_two_factor, two_factor_required
from keyport.staff.services import staff_scope_change


class AdminSignInForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's login form, worded like the dashboard's when too many passwords were wrong
    (the throttle itself is in the authentication backend). It asks for no second factor, so
    whoever uses one, or must, signs in on the dashboard (the admin then shares that session)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if staff_has_two_factor(user) or two_factor_required():
            raise forms.ValidationError(
                "This account signs in with two-factor sign-in: sign in on the staff dashboard first.",
                code="two_factor",
            )


admin.site.login_form = AdminSignInForm


class StaffAdminSite(admin.AdminSite):
    """The default admin site, closed to a session that still has two-factor sign-in to set up
    (the team requires it); django-otp's documented way to put a rule on the default site."""

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and not needs_two_factor_setup(request)


admin.site.__class__ = StaffAdminSite

# Written through staff_scope_change, never by the admin's form itself: a change ends the person's
# sessions and is audited.
SCOPE_FIELDS = ("role", "all_locations", "locations")


class StaffUserChangeForm(UserChangeForm):
    role = forms.ChoiceField(choices=Role.choices)
    all_locations = forms.BooleanField(
        label="All locations",
        required=False,
        help_text="For a manager or employee: work across every location, present and future, "
        "whatever Locations says. Owners always do.",
    )
    locations = form_fields.ModelMultipleChoiceField(
        queryset=Location.objects.order_by("name"),
        required=False,
        widget=FilteredSelectMultiple("locations", is_stacked=False),
        help_text="Where a manager or employee works. With none, and not All locations, they see "
        "nothing. Changing the role or the locations signs the person out everywhere.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        member = self.instance
        if member.pk:
            self.initial.setdefault("role", member.role)
            self.initial.setdefault("all_locations", member.all_locations)
            self.initial.setdefault("locations", list(member.locations.values_list("pk", flat=True)))


@admin.register(StaffUser)
class StaffUserAdmin(BoundedInput, UserAdmin):
    form = StaffUserChangeForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "all_locations", "is_active", "is_staff"]
    list_filter = ["role", "all_locations", "is_active", "locations"]
    search_fields = ["email", "full_name"]
    filter_horizontal = ["groups", "user_permissions"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "all_locations", "locations")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "role", "password1", "password2")}),
    )

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        """On the change page the model form leaves role and locations alone (see save_related)."""
        return SCOPE_FIELDS if obj is not None else super().get_exclude(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Role and locations go through the service, which signs the person out and audits."""
        super().save_related(request, form, formsets, change)
        if change:
            staff_scope_change(
                actor=Actor.staff(request.user),  # type: ignore[arg-type]
                member=form.instance,
                role=form.cleaned_data["role"],
                all_locations=form.cleaned_data["all_locations"],
                locations=form.cleaned_data["locations"],
            )
