"""Forms of the staff pages for billing, documents, events and cars."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.formats import number_format

from keyport.billing.models import BillingSettings, PaymentMethod
from keyport.billing.queries import currency_of
from keyport.billing.services import LineInput
from keyport.bookings.models import Booking
from keyport.cars.models import Car
from keyport.contacts.models import Contact, Customer
from keyport.dashboard.move_in_forms import money_field, refreshes
from keyport.facilities.models import Location, Unit
from keyport.frontdesk.queries.contacts import search_contacts
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm, BootstrapModelForm
from keyport.lib.email_addresses import email_addresses_parse
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff

# The customers a search on New invoice offers at most: type more to narrow it.
INVOICE_CUSTOMERS_FOUND = 15
# More than any site holds; PostgreSQL's integer column would refuse past 2,147,483,647.
EVENT_CAPACITY_MAX = 100_000


class InvoiceForm(BootstrapForm):
    """A one-off invoice. The customer is found by a search (their name, email or phone), not picked
    from every customer; the booking is one of that customer's. Without JavaScript the Find button
    re-renders the form with the customers found and the chosen one's bookings; htmx refreshes that
    part as the desk types or chooses."""

    customer_search = forms.CharField(label="Find the customer", required=False, max_length=100)
    customer = form_fields.ModelChoiceField(
        queryset=Customer.objects.none(),
        widget=forms.RadioSelect,
        error_messages={
            "required": "Find and choose the customer.",
            "invalid_choice": "Choose a customer of this location.",
        },
    )
    booking = form_fields.ModelChoiceField(
        queryset=Booking.objects.none(),
        required=False,
        help_text="One of the customer's bookings here: its access is locked when this invoice is overdue.",
        error_messages={"invalid_choice": "Choose a booking of this customer at this location."},
    )
    due_on = form_fields.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self,
        *args: Any,
        location: Location,
        customers: QuerySet[Customer],
        refresh_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.customers = customers
        source = self.data if self.is_bound else self.initial
        chosen = form_fields.id_from(source.get("customer"))
        customer: Any = self.fields["customer"]
        customer.queryset = customers.order_by("name", "pk")
        found = list(self._found(str(source.get("customer_search") or ""), chosen))
        customer.widget.choices = [(c.pk, f"{c.name} (#{c.pk})") for c in found]
        booking: Any = self.fields["booking"]
        booking.queryset = Booking.objects.filter(location=location, customer_id=chosen or 0).order_by(
            "-starts_on"
        )
        booking.label_from_instance = lambda b: (
            f"#{b.pk} from {b.starts_on:%Y-%m-%d}" + (f" to {b.ends_on:%Y-%m-%d}" if b.ends_on else "")
        )
        if refresh_url:
            for name, trigger in (("customer_search", "input changed delay:300ms"), ("customer", "change")):
                refreshes(self.fields[name], refresh_url, "invoice-customer", trigger, form_id="invoice-form")

    def _found(self, text: str, chosen: int | None) -> list[Customer]:
        """The customers the search finds (none before a search), the chosen one first."""
        found: list[Customer] = []
        if chosen is not None:
            found = list(self.customers.filter(pk=chosen))
        if text.strip():
            matches = self.customers.filter(
                pk__in=Contact.objects.filter(search_contacts(text)).values("customer_id")
            ).exclude(pk=chosen or 0)
            found += list(matches.order_by("name", "pk")[:INVOICE_CUSTOMERS_FOUND])
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data.pop("customer_search", None)
        return data


class InvoiceLineForm(BootstrapForm):
    description = forms.CharField(max_length=200, required=False)
    quantity = forms.DecimalField(max_digits=9, decimal_places=2, min_value=Decimal("0.01"), initial=1)
    unit_price = forms.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = forms.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, initial=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_permitted = True
        self.use_required_attribute = False


InvoiceLineFormSet = forms.formset_factory(InvoiceLineForm, extra=3, max_num=20)


def lines_from(formset: Any) -> list[LineInput]:
    return [
        LineInput(
            description=form.cleaned_data["description"],
            quantity=form.cleaned_data["quantity"],
            unit_price=form.cleaned_data["unit_price"],
            tax_rate=form.cleaned_data["tax_rate"],
        )
        for form in formset.forms
        if form.cleaned_data.get("description")
    ]


class PaymentForm(BootstrapForm):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    received_on = form_fields.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    reference = forms.CharField(max_length=100, required=False)


class VoidForm(BootstrapForm):
    reason = forms.CharField(max_length=200)


class BillingSettingsForm(BootstrapModelForm):
    class Meta:
        model = BillingSettings
        fields = [
            "currency",
            "invoice_prefix",
            "vat_rate",
            "billing_anchor",
            "issue_days_before",
            "reminder_days_after",
            "grace_days",
            "lock_warning_days",
            "lockout_enabled",
        ]

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def clean_invoice_prefix(self) -> str:
        return str(self.cleaned_data["invoice_prefix"]).strip().upper()


class DocumentForm(BootstrapForm):
    file = forms.FileField(help_text="PDF or image (PNG, JPEG, WebP), up to 20 MB.")
    title = forms.CharField(max_length=200, required=False, help_text="Leave empty to use the file name.")
    car = form_fields.ModelChoiceField(queryset=Car.objects.none(), required=False)
    booking = form_fields.ModelChoiceField(queryset=Booking.objects.none(), required=False)
    visible_to_customer = forms.BooleanField(label="Customer can see it in the portal", required=False)

    def __init__(self, *args: Any, customer: Customer, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["car"].queryset = customer.cars.all()  # type: ignore[attr-defined]
        # Only bookings at the staff member's own locations are theirs to see and link.
        self.fields["booking"].queryset = customer.bookings.filter(  # type: ignore[attr-defined]
            location__in=locations
        )

    @classmethod
    def for_staff(cls, user: StaffUser, *args: Any, customer: Customer, **kwargs: Any) -> "DocumentForm":
        """The form for this staff member: the bookings of their own locations to link."""
        return cls(*args, customer=customer, locations=locations_for_staff(user), **kwargs)


class EventForm(BootstrapForm):
    location = form_fields.ModelChoiceField(queryset=Location.objects.none())
    title = forms.CharField(max_length=200)
    starts_at = form_fields.DateTimeField(
        label="Starts (local time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(max_length=200)
    capacity = forms.IntegerField(min_value=1, max_value=EVENT_CAPACITY_MAX)
    rsvp_deadline = form_fields.DateTimeField(
        label="RSVP deadline (local time)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]

    def local(self, name: str) -> dt.datetime | None:
        """A time typed in the location's zone, as an aware instant."""
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        # The field read the wall time in UTC (the active zone); it meant the location's.
        zone = zoneinfo.ZoneInfo(self.cleaned_data["location"].time_zone)
        return dt.datetime.combine(value.date(), value.time(), tzinfo=zone)

    def starts(self) -> dt.datetime:
        starts = self.local("starts_at")
        if starts is None:
            raise ValueError("A valid event form has a start.")
        return starts


class InviteForm(BootstrapForm):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more email addresses, separated by commas or new lines.",
    )

    def clean_emails(self) -> list[str]:
        return email_addresses_parse(self.cleaned_data["emails"])


class CheckInCodeForm(BootstrapForm):
    code = forms.CharField(max_length=64, label="Ticket code", help_text="Scan the QR code or type its code.")


class CarSearchForm(forms.Form):
    """The cars list's search, validated: a NUL character, which PostgreSQL refuses, finds nothing."""

    q = forms.CharField(required=False)


def bay_choices(booked: list[Unit], free: list[tuple[int, str]]) -> list[Any]:
    """A bay dropdown's choices: an empty first one (staff choose), the customer's booked bays,
    then the free bays (`free_bay_choices`) a Move in rents to them."""
    choices: list[Any] = [("", "Choose a bay")]
    if booked:
        choices.append(
            ("Booked by the customer", [(bay.pk, f"{bay.location.name} · {bay.number}") for bay in booked])
        )
    if free:
        choices.append(("Free: Move in from today", free))
    return choices


def free_bay_choices(bays: list[Unit]) -> list[tuple[int, str]]:
    """Each free bay with the rent a Move in would take for it (its price, in its site's currency)."""
    currencies: dict[int, str] = {}
    choices = []
    for bay in bays:
        if bay.location_id not in currencies:
            currencies[bay.location_id] = currency_of(bay.location)
        price = bay.monthly_price
        rent = "" if price is None else f", {number_format(price, 2)} {currencies[bay.location_id]} a month"
        choices.append((bay.pk, f"{bay.location.name} · {bay.number} (Move in{rent})"))
    return choices


class BayForm(BootstrapForm):
    """Assign Car / Move Vehicle. Any bay of the staff member's locations is accepted here: the
    service says in words why a bay cannot take the car (booked by another customer, holds a car)."""

    bay = form_fields.ModelChoiceField(queryset=Unit.objects.none(), empty_label="Choose a bay")
    monthly_rent = money_field(
        label="Monthly rent for a Move in",
        below_zero="A rent cannot be below zero.",
    )

    def __init__(
        self, *args: Any, bays: QuerySet[Unit], booked: list[Unit], free: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bay"].queryset = bays  # type: ignore[attr-defined]
        self.fields["bay"].choices = bay_choices(booked, free)  # type: ignore[attr-defined]
        self.fields["monthly_rent"].help_text = "Only for a free bay; empty takes the bay's price."


class PhotoForm(BootstrapForm):
    image = forms.FileField(label="Photo", help_text="PNG, JPEG or WebP, up to 20 MB.")


class NotesForm(BootstrapForm):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)


def form_status(request: Any) -> int:
    """400 for a refused form post, so tests and tools see the refusal; 200 for a page."""
    return 400 if request.method == "POST" else 200


class CarEditForm(BootstrapForm):
    """What identifies a car, and its notes: all that staff edit once it is entered."""

    plate = forms.CharField(max_length=20, label="Licence plate")
    vin = forms.CharField(
        max_length=30,
        required=False,
        label="VIN",
        help_text="17 characters; letters I, O and Q are never used.",
    )
    colour = forms.CharField(max_length=40, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class CarForm(CarEditForm):
    make = forms.CharField(max_length=60)
    model = forms.CharField(max_length=60)
    year = forms.IntegerField(min_value=1885, max_value=2100, required=False)
    field_order = ["make", "model", "year", "colour", "plate", "vin", "notes"]
