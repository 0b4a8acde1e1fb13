"""Why can't they get in? The form on a customer's page and on a location's Access events page:
a person, an access point, a time (empty: now) and how they open; read from the query string."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from keyport.access.explain import OPEN_BUTTON, PIN, Explanation, access_explain
from keyport.access.models import AccessHolder
from keyport.contacts.models import Contact
from keyport.facilities.models import AccessPoint
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.lib.form_fields import validate_date_in_range

PREFIX = "why"


@dataclass(frozen=True)
class Person:
    """A choice of the person field: a contact of the customer, or a guest (a holder of a share)."""

    value: str
    label: str
    contact: Contact | None = None
    holder: AccessHolder | None = None


class WhyCantForm(BootstrapForm):
    person = forms.ChoiceField(label=_("Person"), required=False)
    email = form_fields.EmailField(label=_("Person's email"), required=False)
    access_point = forms.TypedChoiceField(label=_("Access point"), coerce=int)
    at = forms.CharField(
        label=_("Time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("In the access point's local time; empty means now."),
    )
    channel = forms.ChoiceField(
        label=_("They open with"),
        choices=[(PIN, _("Their PIN at a keypad")), (OPEN_BUTTON, _("The Open button or their key link"))],
        initial=PIN,
    )

    def __init__(
        self,
        data: QueryDict | None,
        *,
        access_points: QuerySet[AccessPoint],
        people: list[Person] | None = None,
        holders: QuerySet[AccessHolder] | None = None,
    ) -> None:
        """`people` to choose from (a customer's page), or `holders` to find by email (a location's)."""
        super().__init__(data, prefix=PREFIX)
        self.people = {person.value: person for person in people or []}
        self.holders = holders
        self.access_points = {
            point.pk: point
            for point in access_points.select_related("location").order_by("location__name", "kind", "name")
        }
        self.fields["access_point"].choices = [  # type: ignore[attr-defined]
            (point.pk, f"{point.location.name} · {point.name}") for point in self.access_points.values()
        ]
        if people is None:
            del self.fields["person"]
            self.fields["email"].required = True
        else:
            del self.fields["email"]
            self.fields["person"].choices = [(person.value, person.label) for person in people]  # type: ignore[attr-defined]
            self.fields["person"].required = True

    @classmethod
    def asked(cls, data: QueryDict) -> bool:
        return f"{PREFIX}-access_point" in data

    def clean_email(self) -> AccessHolder | None:
        email = self.cleaned_data.get("email")
        if not email or self.holders is None:
            return None
        holder = self.holders.filter(email__iexact=email).first()
        if holder is None:
            raise ValidationError(_("Nobody with this email holds access at this location."))
        return holder

    def clean_at(self) -> dt.datetime | None:
        text = self.cleaned_data.get("at") or ""
        if not text:
            return None
        try:
            local = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(_("Enter a date and time, such as 2026-03-04 09:30.")) from None
        if local.tzinfo is not None:
            raise ValidationError(_("Enter the local time without a time zone."))
        validate_date_in_range(local)
        return local

    def clean_access_point(self) -> AccessPoint:
        return self.access_points[self.cleaned_data["access_point"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        point, local = cleaned.get("access_point"), cleaned.get("at")
        if point is None:
            return cleaned
        when = timezone.now() if local is None else local.replace(tzinfo=point.location.zone)
        cleaned["when"] = when.astimezone(dt.UTC)
        person = self.people.get(cleaned.get("person") or "")
        if "person" in self.fields and person is None and "person" not in self.errors:
            self.add_error("person", _("Choose one of this customer's people."))
        cleaned["who"] = person
        return cleaned

    def explain(self) -> Explanation:
        cleaned = self.cleaned_data
        person: Person | None = cleaned.get("who")
        return access_explain(
            access_point=cleaned["access_point"],
            when=cleaned["when"],
            channel=cleaned["channel"],
            contact=person.contact if person is not None else None,
            holder=person.holder if person is not None else cleaned.get("email"),
        )


def why_cant_context(
    data: QueryDict,
    *,
    access_points: QuerySet[AccessPoint],
    people: list[Person] | None = None,
    holders: QuerySet[AccessHolder] | None = None,
) -> tuple[dict[str, Any], bool]:
    """The form and, when asked and valid, its answer; and whether the question was bad input."""
    if not WhyCantForm.asked(data):
        return {
            "why_form": WhyCantForm(None, access_points=access_points, people=people, holders=holders)
        }, False
    form = WhyCantForm(data, access_points=access_points, people=people, holders=holders)
    if not form.is_valid():
        return {"why_form": form}, True
    return {"why_form": form, "explanation": form.explain()}, False
