"""The admin's two postures: shown only (what services write, with their rules and audit), and
fixed once made (what other rows, doors or the access provider rely on)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


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


class FixedOnceMadeAdmin(admin.ModelAdmin):
    """`fixed_once_made`: fields set when the row is added and read-only afterwards. Rows are not
    deleted here either: they are referenced by what happened at them."""

    fixed_once_made: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly + self.fixed_once_made if obj is not None else readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
