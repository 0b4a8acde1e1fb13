"""Forms of the front desk: New customer, and Move in (customer, dates, free units with their rents)."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from keyport.bookings.queries import units_free_for
from keyport.contacts.models import Customer, CustomerKind
from keyport.contacts.queries import get_contact_by_email
from keyport.contacts.services import NewCustomer
from keyport.facilities.models import Location, Unit
from keyport.frontdesk.queries import customers_for_staff, customers_to_move_in, find_customers_to_move_in
from keyport.frontdesk.services import MoveIn
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm, style_fields
from keyport.lib.email_addresses import normalize_email_address
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_operator

# Free units a Move in lists at once; a unit named in the address (from the Units page) is always among them.
FREE_UNITS_SHOWN = 200


def money_field(
    *, label: str | None = None, below_zero: str, initial: Decimal | None = None
) -> forms.DecimalField:
    """An optional amount of money in the location's currency, never below zero."""
    return forms.DecimalField(
        label=label,
        required=False,
        initial=initial,
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={"min_value": below_zero, "invalid": "Enter the amount as a number."},
    )


def email_in_use(user: StaffUser, email: str) -> ValidationError | None:
    """The refusal of an email another contact has, linking to their customer when this staff
    member may see them; None for a free address."""
    email = normalize_email_address(email)
    if not email:
        return None
    holder = get_contact_by_email(email)
    if holder is None:
        return None
    customer = holder.customer
    if not customers_for_staff(user).filter(pk=customer.pk).exists():
        return ValidationError("Another contact already uses this email address.")
    url = reverse("dashboard:customer_detail", args=[customer.pk])
    return ValidationError(
        format_html(
            'Another contact already uses this email address: <a href="{}">{}</a>.', url, customer.name
        )
    )


class NewCustomerFields(BootstrapForm):
    """A person's name, email and phone, refusing an email another contact has."""

    name = forms.CharField(max_length=200, help_text="A person's or a company's name.")
    email = form_fields.EmailField(
        required=False, help_text="With an email they can sign in to the customer portal."
    )
    phone = form_fields.PhoneField()

    def __init__(self, *args: Any, user: StaffUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = normalize_email_address(self.cleaned_data["email"])
        refusal = email_in_use(self.user, email)
        if refusal is not None:
            raise refusal
        return email


class NewCustomerForm(NewCustomerFields):
    """New customer on All Contacts: at a home location this staff member runs."""

    home_location = form_fields.ModelChoiceField(
        queryset=Location.objects.none(),
        label="Home location",
        error_messages={"invalid_choice": "Choose a location you run."},
    )
    kind = forms.ChoiceField(choices=CustomerKind.choices, initial=CustomerKind.STORAGE)

    def __init__(self, *args: Any, user: StaffUser, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        home_location: Any = self.fields["home_location"]
        home_location.queryset = locations_for_operator(user)

    def new_customer(self) -> NewCustomer:
        data = self.cleaned_data
        return NewCustomer(
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            home_location=data["home_location"],
            kind=data["kind"],
        )


class MoveInForm(BootstrapForm):
    """Move in at one location. Shown unbound with the chosen values as `initial` while the desk
    picks (the dates refresh the free units, the search the customers), bound when submitted."""

    customer_search = forms.CharField(label="Find a customer", required=False, max_length=100)
    customer = form_fields.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose a customer of a location you run."},
    )
    new_name = forms.CharField(label="Name", max_length=200, required=False)
    new_email = form_fields.EmailField(label="Email", required=False)
    new_phone = form_fields.PhoneField(label="Phone")
    starts_on = form_fields.DateField(label="Move-in date", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = form_fields.DateField(
        label="Move-out date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for an open-ended rental.",
    )
    units = form_fields.ModelMultipleChoiceField(
        queryset=Unit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one unit.",
            "invalid_choice": "Choose units of this location.",
        },
    )
    deposit = money_field(below_zero="The deposit cannot be below zero.")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self, *args: Any, user: StaffUser, location: Location, refresh_url: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.location = user, location
        refreshes(self.fields["starts_on"], refresh_url, "free-units", "change")
        refreshes(self.fields["ends_on"], refresh_url, "free-units", "change")
        refreshes(
            self.fields["customer_search"], refresh_url, "customer-choices", "input changed delay:300ms"
        )
        self.fields["starts_on"].initial = location.local_now().date()
        customer: Any = self.fields["customer"]
        customer.queryset = customers_to_move_in(user)
        units: Any = self.fields["units"]
        units.queryset = Unit.objects.filter(location=location)
        # A submitted form validates the rents of the units chosen; which others are free, and
        # the customers to choose from, are read only to show the form (`offer`).
        chosen = units.queryset.filter(pk__in=_ids(self._value("units"))) if self.is_bound else []
        self._add_rent_fields(chosen)
        style_fields(self)

    def offer(self) -> None:
        """Read what the form offers: the free units with their rents, the customers found."""
        self.free_units = self._free_units()
        self._add_rent_fields(self.free_units)
        style_fields(self)
        customer: Any = self.fields["customer"]
        customer.widget.choices = [(c.pk, self._customer_label(c)) for c in self._customer_choices()]

    def _add_rent_fields(self, units: Iterable[Unit]) -> None:
        for unit in units:
            if self.rent_field(unit) in self.fields:
                continue
            self.fields[self.rent_field(unit)] = money_field(
                label=f"Monthly rent, {unit.number}",
                below_zero="A rent cannot be below zero.",
                initial=unit.monthly_price,
            )

    @staticmethod
    def rent_field(unit: Unit) -> str:
        return f"rent_{unit.pk}"

    def _value(self, name: str) -> Any:
        source = self.data if self.is_bound else self.initial
        if name == "units":
            return source.getlist(name) if hasattr(source, "getlist") else source.get(name, [])
        return source.get(name) or self.fields[name].initial

    def dates(self) -> tuple[dt.date, dt.date | None]:
        """The dates asked (today at the location, open-ended, where they do not read as dates)."""
        starts_on = self._date("starts_on") or self.location.local_now().date()
        ends_on = self._date("ends_on")
        return starts_on, ends_on if ends_on is None or ends_on >= starts_on else None

    def _date(self, name: str) -> dt.date | None:
        try:
            value = self.fields[name].clean(self._value(name))
        except ValidationError:
            return None
        return value if isinstance(value, dt.date) else None

    def _free_units(self) -> list[Unit]:
        free = units_free_for(self.location, *self.dates())
        shown = list(free[:FREE_UNITS_SHOWN])
        chosen = [unit for unit in free.filter(pk__in=_ids(self._value("units"))) if unit not in shown]
        return shown + chosen

    def _customer_choices(self) -> list[Customer]:
        found = find_customers_to_move_in(self.user, self._value("customer_search") or "")
        chosen = _ids([self._value("customer")])
        if chosen and chosen[0] not in {customer.pk for customer in found}:
            found = list(customers_to_move_in(self.user).filter(pk=chosen[0])) + found
        return found

    @staticmethod
    def _customer_label(customer: Customer) -> str:
        home = customer.home_location.name if customer.home_location else "no home location"
        email: str | None = getattr(customer, "primary_email", None)  # annotated by customers_to_move_in
        return f"{customer.name} · {email} ({home})" if email else f"{customer.name} ({home})"

    def unit_rows(self) -> list[dict[str, Any]]:
        """Each free unit with whether it is chosen and its rent field, for the units table."""
        chosen = {str(pk) for pk in self._value("units")}
        return [
            {"unit": unit, "chosen": str(unit.pk) in chosen, "rent": self[self.rent_field(unit)]}
            for unit in self.free_units
        ]

    def units_no_longer_free(self) -> list[Unit]:
        """Units ticked before the dates changed that are not free for the dates now asked."""
        free = {unit.pk for unit in self.free_units}
        ticked = [pk for pk in _ids(self._value("units")) if pk not in free]
        return list(Unit.objects.filter(location=self.location, pk__in=ticked).order_by("number"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for unit in data.get("units") or []:
            no_rent = data.get(self.rent_field(unit)) is None and unit.monthly_price is None
            if no_rent and self.rent_field(unit) not in self.errors:
                self.add_error(
                    self.rent_field(unit), f"Enter the monthly rent of {unit.number}: it has no price."
                )
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The move-out date cannot be before the move-in date.")
        has_customer, has_new = data.get("customer") is not None, bool(data.get("new_name", "").strip())
        if not has_customer and not has_new and "customer" not in self.errors:
            self.add_error("customer", "Choose a customer, or enter a new customer's name.")
        if has_customer and has_new:
            self.add_error("new_name", "Choose a customer or enter a new one, not both.")
        refusal = email_in_use(self.user, data.get("new_email", "")) if has_new else None
        if refusal is not None:
            self.add_error("new_email", refusal)
        return data

    def customer_or_new(self) -> Customer | NewCustomer:
        data = self.cleaned_data
        if data["customer"] is not None:
            customer: Customer = data["customer"]
            return customer
        return NewCustomer(
            name=data["new_name"],
            email=data["new_email"],
            phone=data["new_phone"],
            home_location=self.location,
        )

    def move_in(self) -> MoveIn:
        data = self.cleaned_data
        rents = {
            unit.pk: data[self.rent_field(unit)]
            for unit in data["units"]
            if data.get(self.rent_field(unit)) is not None
        }
        return MoveIn(
            location=self.location,
            units=list(data["units"]),
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            monthly_rents=rents,
            deposit=data["deposit"],
            note=data["note"],
        )


def refreshes(field: forms.Field, url: str, target: str, trigger: str, form_id: str = "move-in-form") -> None:
    """htmx re-renders the form's part `target` when this field changes, with the whole form's values."""
    field.widget.attrs.update(
        {
            "hx-get": url,
            "hx-trigger": trigger,
            "hx-target": f"#{target}",
            "hx-include": f"#{form_id}",
            "hx-params": "not csrfmiddlewaretoken",  # a GET: the token stays out of addresses and logs
        }
    )


def _ids(values: Any) -> list[int]:
    return [pk for pk in (form_fields.id_from(value) for value in values) if pk is not None]
