"""Forms of the contact pages: Filters & Settings, Edit Contact, customer app, email templates."""

from typing import Any

from django import forms

from keyport.contacts.models import AccountStatus, PortalAccess
from keyport.contacts.services import ContactDetails

CONTACT_COLUMNS = [
    ("customer", "Customer"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("portal_access", "Portal Access"),
    ("account_status", "Account Status"),
    ("status", "Active / Inactive"),
    ("location", "Home location"),
]
DEFAULT_COLUMNS = ["customer", "email", "phone", "portal_access", "account_status", "status"]


class _Bootstrap:
    def style(self: Any) -> None:
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            invalid = " is-invalid" if self.is_bound and name in self.errors else ""
            widget.attrs["class"] = css + invalid


class ContactFiltersForm(_Bootstrap, forms.Form):
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
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            ("name", "Name"),
            ("customer", "Customer"),
            ("portal_access", "Portal Access"),
            ("account_status", "Account Status"),
            ("created", "Newest first"),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()
        for field in self.fields.values():
            # The filters sit in the Filters & Settings panel, outside the search form's element.
            field.widget.attrs["form"] = "contacts-search"


class TableSettingsForm(forms.Form):
    """Filters & Settings: table or cards view, which columns show."""

    view = forms.ChoiceField(choices=[("table", "Table"), ("cards", "Cards")], widget=forms.RadioSelect)
    columns = forms.MultipleChoiceField(
        choices=CONTACT_COLUMNS, required=False, widget=forms.CheckboxSelectMultiple
    )


class ContactForm(_Bootstrap, forms.Form):
    """Add Contact / Edit Contact."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(required=False, max_length=254)
    phone = forms.CharField(max_length=32, required=False)
    can_access_portal = forms.BooleanField(
        label="Can access customer portal (login with their email)", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()

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


class EmailTemplateForm(_Bootstrap, forms.Form):
    subject = forms.CharField(max_length=255)
    body_text = forms.CharField(label="Body (plain text)", widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()
