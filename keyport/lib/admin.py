"""The admin's two postures: shown only (what services write, with their rules and audit), and
fixed once made (what other rows, doors or the access provider rely on)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from keyport.lib import form_fields
from keyport.lib.email_addresses import EMAIL_MAX_LENGTH


class BoundedInput:
    """The admin's forms keep the bounds of every other form (`keyport.lib.form_fields`): dates
    from 2000 to ten years ahead, emails that fit their columns, ids a 64-bit column holds."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.ManyToManyField):
            kwargs.setdefault("form_class", form_fields.ModelMultipleChoiceField)
        elif isinstance(db_field, models.ForeignKey):
            kwargs.setdefault("form_class", form_fields.ModelChoiceField)
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if isinstance(db_field, models.DateField) and field is not None:
            field.validators.append(form_fields.validate_date_in_range)
        if isinstance(field, forms.EmailField):
            field.max_length = min(field.max_length or EMAIL_MAX_LENGTH, EMAIL_MAX_LENGTH)
        return field


class BoundedAdmin(BoundedInput, admin.ModelAdmin):
    pass


class BoundedInline(BoundedInput, admin.TabularInline):
    pass


class ShownOnly:
    """Shown in the admin, never added, changed or deleted there: the dashboard's forms and the
    services behind them are the only way in."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShownOnlyAdmin(ShownOnly, admin.ModelAdmin):
    pass


class ShownOnlyInline(ShownOnly, admin.TabularInline):
    extra = 0


class FixedOnceMadeAdmin(BoundedAdmin):
    """`fixed_once_made`: fields set when the row is added and read-only afterwards. Rows are not
    deleted here either: they are referenced by what happened at them."""

    fixed_once_made: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly + self.fixed_once_made if obj is not None else readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
