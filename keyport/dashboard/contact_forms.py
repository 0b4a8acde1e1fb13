"""Forms of the contact pages: Filters & Settings, Edit Contact, customer app, email templates."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from keyport.contacts.models import AccountStatus, PortalAccess
from keyport.contacts.services import ContactDetails
from keyport.facilities.models import Location
from keyport.frontdesk.queries import ContactFilters
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff

# All Contacts: the columns a staff member can show, and the sorts (each has an index).
COLUMNS = [
    ("name", "Name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("portal_access", "Portal Access"),
    ("account_status", "Account Status"),
    ("active", "Active"),
    ("location", "Location"),
    ("units", "Units"),
    ("cars", "Cars"),
    ("created", "Created"),
    ("customer", "Customer"),
]
DEFAULT_COLUMNS = [key for key, _ in COLUMNS if key != "customer"]
SORT_CHOICES = [
    ("name", "Name, A–Z"),
    ("-name", "Name, Z–A"),
    ("email", "Email, A–Z"),
    ("-email", "Email, Z–A"),
    ("phone", "Phone, ascending"),
    ("-phone", "Phone, descending"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
]
# The query-string keys of the search, filters and sort (the cursors are not remembered).
FILTER_KEYS = ("q", "access", "status", "active", "location", "sort")


class AllContactsForm(BootstrapForm):
    """Search, filters and sort of All Contacts and the Customer Report, read from the query string."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    access = forms.ChoiceField(
        label="Portal Access", required=False, choices=[("", "Any")] + list(PortalAccess.choices)
    )
    status = forms.ChoiceField(
        label="Account Status", required=False, choices=[("", "Any")] + list(AccountStatus.choices)
    )
    active = forms.ChoiceField(
        label="Active / Inactive",
        required=False,
        choices=[("", "Any"), ("active", "Active"), ("inactive", "Inactive")],
    )
    location: form_fields.ModelChoiceField[Location] = form_fields.ModelChoiceField(
        queryset=Location.objects.none(), label="Location", required=False, empty_label="Any"
    )
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location: Any = self.fields["location"]
        location.queryset = locations
        for field in self.fields.values():
            # The filters sit in the Filters & Settings panel, outside the search form's element.
            field.widget.attrs["form"] = "contacts-search"

    @classmethod
    def for_staff(cls, user: StaffUser, *args: Any, **kwargs: Any) -> "AllContactsForm":
        """The form for this staff member: their own locations to filter by."""
        return cls(*args, locations=locations_for_staff(user), **kwargs)

    def filters(self) -> ContactFilters:
        self.is_valid()  # a field in error is left out (and shown beside it); the others apply
        data = self.cleaned_data
        location = data.get("location")
        return ContactFilters(
            search=data.get("q", ""),
            portal_access=data.get("access", ""),
            account_status=data.get("status", ""),
            active=data.get("active", ""),
            location_id=location.pk if location is not None else None,
            sort=data.get("sort") or "name",
        )

    def remembered_query(self) -> str:
        """The search, filters and sort that differ from the defaults, as a query string."""
        query = QueryDict(mutable=True)
        for key in FILTER_KEYS:
            value = self.data.get(key, "")
            if value and not (key == "sort" and value == "name"):
                query[key] = value
        return query.urlencode()


class ColumnSettingsForm(forms.Form):
    """Filters & Settings: table or cards view, which columns show."""

    view = forms.ChoiceField(choices=[("table", "Table"), ("cards", "Cards")], widget=forms.RadioSelect)
    columns = forms.MultipleChoiceField(choices=COLUMNS, required=False, widget=forms.CheckboxSelectMultiple)


class ContactForm(BootstrapForm):
    """Add Contact / Edit Contact."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100, required=False)
    email = form_fields.EmailField(required=False)
    phone = form_fields.PhoneField()
    can_access_portal = forms.BooleanField(
        label="Can access customer portal (login with their email)", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("can_access_portal") and not data.get("email") and "email" not in self.errors:
            self.add_error(
                "email", "A contact who can access the customer portal needs their own email address."
            )
        return data

    def details(self) -> ContactDetails:
        return ContactDetails(
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
            email=self.cleaned_data["email"],
            phone=self.cleaned_data["phone"],
            can_access_portal=self.cleaned_data["can_access_portal"],
        )


class CustomerAppForm(forms.Form):
    show_cars = forms.BooleanField(label="Cars", required=False)
    show_billing = forms.BooleanField(label="Billing", required=False)
    show_documents = forms.BooleanField(label="Documents", required=False)
    show_events = forms.BooleanField(label="Events", required=False)
    show_settings = forms.BooleanField(label="Settings", required=False)


class EmailTemplateForm(BootstrapForm):
    subject = forms.CharField(max_length=255)
    body_text = forms.CharField(label="Body (plain text)", widget=forms.Textarea(attrs={"rows": 14}))
