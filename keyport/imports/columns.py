"""Which column of an uploaded file holds which field: headers matched leniently (case, spaces,
hyphens: "E-Mail", "Email" and "email address" are one), else chosen by the owner."""

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# A field's label, whether a file must have it, and the headers (normalised) it is known by.
Field = tuple[str | Promise, bool, set[str]]

FIELDS: dict[str, Field] = {
    "name": (
        _("Customer name"),
        True,
        {"name", "customername", "customer", "fullname", "tenant", "tenantname", "kunde", "kundenname"},
    ),
    "email": (_("Email"), False, {"email", "emailaddress", "mail", "customeremail", "emailadresse"}),
    "phone": (_("Phone"), False, {"phone", "phonenumber", "telephone", "tel", "mobile", "telefon"}),
    "unit": (_("Unit number"), True, {"unit", "unitnumber", "unitno", "unitnr", "unitid", "einheit"}),
    "starts_on": (
        _("Move-in date"),
        True,
        {"moveindate", "movein", "startdate", "start", "startson", "einzug", "einzugsdatum", "mietbeginn"},
    ),
    "ends_on": (
        _("Move-out date"),
        False,
        {"moveoutdate", "moveout", "enddate", "end", "endson", "auszug", "auszugsdatum", "mietende"},
    ),
    "monthly_rent": (
        _("Monthly rent"),
        False,
        {"monthlyrent", "rent", "monthlyprice", "miete", "monatsmiete"},
    ),
    "balance_due": (
        _("Balance due"),
        False,
        {"balancedue", "balance", "amountdue", "due", "owed", "outstanding", "offen", "saldo"},
    ),
}

# The additional contacts' file: whose contact (the customer's email), and the person.
CONTACT_FIELDS: dict[str, Field] = {
    "customer_email": (
        _("Customer email"),
        True,
        {"customeremail", "accountemail", "primaryemail", "customer", "kundenemail"},
    ),
    "name": (_("Contact name"), True, {"name", "contactname", "fullname", "contact"}),
    "email": (_("Contact email"), False, {"email", "emailaddress", "mail", "contactemail"}),
    "phone": (_("Phone"), False, {"phone", "phonenumber", "telephone", "tel", "mobile", "telefon"}),
}

IGNORED = ""


def normalised(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


def columns_guessed(headers: list[str], fields: dict[str, Field]) -> dict[str, int]:
    """Field → column index, for each header known by a field's names (the first column wins)."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = normalised(header)
        for field, (_label, _required, names) in fields.items():
            if key in names and field not in found:
                found[field] = index
                break
    return found


def headers_unknown(headers: list[str], columns: dict[str, int]) -> list[str]:
    """The non-empty headers no field is read from."""
    used = set(columns.values())
    return [header for index, header in enumerate(headers) if header.strip() and index not in used]


def fields_missing(columns: dict[str, int], fields: dict[str, Field]) -> list[str]:
    return [
        str(label) for field, (label, required, _names) in fields.items() if required and field not in columns
    ]
