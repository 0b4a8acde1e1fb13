"""A customer's detail page: Personal & Contact, Contacts, Bookings with their access, Cars,
Documents, Billing, CRM Information (Active / Inactive), Activity and the Portal check."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from keyport.access.explain import UnitDoors, doors_of_contacts
from keyport.access.queries import (
    BookingWithAccess,
    access_loss_for_customer,
    access_points_for_staff,
    bookings_with_access_for_staff,
)
from keyport.audit.services import Actor
from keyport.billing.queries import billing_of_customer_for_staff
from keyport.cars.queries import cars_of_customer_for_staff
from keyport.contacts.models import Contact, Customer
from keyport.contacts.queries import primary_contact
from keyport.dashboard.activity import activity_of_customer_for_staff, emails_to_customer
from keyport.dashboard.contact_forms import ContactForm
from keyport.dashboard.forms import RevokeAccessForm, apply_errors
from keyport.dashboard.portal_check import Linked, linked_to_customer, portal_check
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.dashboard.why_cant_forms import Person, why_cant_context
from keyport.documents.queries import documents_of_customer_for_staff
from keyport.facilities.models import Location
from keyport.frontdesk.queries import (
    contacts_of_customer,
    get_contact_for_manager,
    get_customer_for_manager,
    get_customer_for_staff,
)
from keyport.frontdesk.services import contact_add, contact_update, customer_set_active
from keyport.lib.times import list_zone
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_operator


@staff_required
def customer_detail(
    request: StaffRequest,
    customer_id: int,
    add_form: ContactForm | None = None,
    edit_forms: dict[int, ContactForm] | None = None,
) -> HttpResponse:
    customer = get_customer_for_staff(request.user, customer_id)
    contacts = list(contacts_of_customer(customer))
    bookings = bookings_with_access_for_staff(request.user, customer)
    activity = activity_of_customer_for_staff(request.user, customer)
    why, why_refused = why_cant_context(
        request.GET,
        access_points=access_points_for_staff(request.user, booked_by=customer),
        people=_people(contacts, bookings),
    )
    context = {
        "customer": customer,
        "primary": primary_contact(contacts),
        "rows": _contact_rows(
            contacts, linked_to_customer(customer), doors_of_contacts(contacts, bookings), edit_forms or {}
        ),
        "bookings": _booking_rows(request.user, customer, bookings),
        "revoke_form": RevokeAccessForm(),
        "cars": cars_of_customer_for_staff(request.user, customer),
        "documents": documents_of_customer_for_staff(request.user, customer)[:20],
        "billing": billing_of_customer_for_staff(request.user, customer),
        "activity": activity,
        "activity_zone": list_zone(activity),
        "emails": emails_to_customer(customer),
        "add_form": add_form or ContactForm(prefix="new"),
        "can_manage": request.user.can_change_customer(customer),
        "move_in_locations": _move_in_locations(request.user, customer),
        "add_open": add_form is not None,
        "why_action": reverse("dashboard:customer_detail", args=[customer.pk]),
        **why,
    }
    status = 400 if add_form is not None or edit_forms or why_refused else 200
    return render(request, "dashboard/customers/detail.html", context, status=status)


def _move_in_locations(user: StaffUser, customer: Customer) -> list[Location]:
    """Where Move in rents this customer a unit: their home location, or (without one) each
    location an owner runs; none for staff who may not change the customer."""
    if not customer.is_active or not user.can_change_customer(customer):
        return []
    if customer.home_location is not None:
        return [customer.home_location]
    return list(locations_for_operator(user))


def _people(contacts: list[Contact], bookings: list[BookingWithAccess]) -> list[Person]:
    """Whom Why can't they get in? asks about: the customer's people, then their shares' guests."""
    guests = {share.holder.pk: share.holder for item in bookings for share in item.shares}
    return [Person(f"contact-{c.pk}", c.full_name or str(c.email), contact=c) for c in contacts] + [
        Person(f"guest-{guest.pk}", gettext("%(email)s (guest)") % {"email": guest.email}, holder=guest)
        for guest in sorted(guests.values(), key=lambda guest: guest.email)
    ]


def _contact_rows(
    contacts: list[Contact],
    linked: Linked,
    doors: dict[int, list[UnitDoors]],
    edit_forms: dict[int, ContactForm],
) -> list[dict[str, Any]]:
    return [
        {
            "contact": contact,
            "check": portal_check(contact, linked, doors.get(contact.pk, [])),
            "form": edit_forms.get(contact.pk)
            or ContactForm(initial=_initial(contact), prefix=f"c{contact.pk}"),
            "dialog_id": f"edit-contact-{contact.pk}",
            "open": contact.pk in edit_forms,
        }
        for contact in contacts
    ]


def _booking_rows(
    user: StaffUser, customer: Customer, bookings: list[BookingWithAccess]
) -> list[dict[str, Any]]:
    """Each booking, whether this staff member may revoke and restore its access (asked once per
    location), and where Revoke / Restore access come back to."""
    page = reverse("dashboard:customer_detail", args=[customer.pk])
    locations = {item.booking.location for item in bookings}
    operable = {location.pk for location in locations if user.can_operate_location(location)}
    return [
        {
            "item": item,
            "can_operate": item.booking.location_id in operable,
            "next": f"{page}#booking-{item.booking.pk}",
        }
        for item in bookings
    ]


def _initial(contact: Contact) -> dict[str, object]:
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email or "",
        "phone": contact.phone,
        "can_access_portal": contact.can_access_portal,
    }


@require_POST
@staff_required
def customer_contact_add(request: StaffRequest, customer_id: int) -> HttpResponse:
    """Add Contact: an additional contact (spouse, assistant, bookkeeper)."""
    customer = get_customer_for_manager(request.user, customer_id)
    form = ContactForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            contact = contact_add(actor=Actor.staff(request.user), customer=customer, details=form.details())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{contact.full_name} added to Contacts.")
            return redirect("dashboard:customer_detail", customer_id=customer.pk)
    return customer_detail(request, customer.pk, add_form=form)


@require_POST
@staff_required
def contact_edit(request: StaffRequest, contact_id: int) -> HttpResponse:
    """Edit Contact. A new email or portal access switched off ends the person's portal sessions."""
    contact = get_contact_for_manager(request.user, contact_id)
    form = ContactForm(request.POST, prefix=f"c{contact.pk}")
    if form.is_valid():
        try:
            contact_update(actor=Actor.staff(request.user), contact=contact, details=form.details())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['first_name']}'s details saved.")
            return redirect("dashboard:customer_detail", customer_id=contact.customer_id)
    return customer_detail(request, contact.customer_id, edit_forms={contact.pk: form})


@require_POST
@staff_required
def customer_active(request: StaffRequest, customer_id: int) -> HttpResponse:
    """CRM Information's Active / Inactive switch: Inactive pauses the relationship, keeps every record.

    Set Inactive shuts doors: the first POST shows who loses access and asks; the one with
    `confirm=1` acts.
    """
    customer: Customer = get_customer_for_manager(request.user, customer_id)
    choice = request.POST.get("is_active")
    if choice not in ("true", "false"):
        return HttpResponseBadRequest(gettext("Choose Active or Inactive; nothing was changed."))
    is_active = choice == "true"
    if not is_active and customer.is_active and request.POST.get("confirm") != "1":
        return render(
            request,
            "dashboard/customers/confirm_inactive.html",
            {"customer": customer, "loss": access_loss_for_customer(customer)},
        )
    customer_set_active(actor=Actor.staff(request.user), customer=customer, is_active=is_active)
    if is_active:
        messages.success(request, gettext("%(name)s is Active again.") % {"name": customer.name})
    else:
        messages.success(
            request,
            gettext(
                "%(name)s is Inactive: door access revoked, portal sessions ended, sign-in links "
                "voided, records kept."
            )
            % {"name": customer.name},
        )
    return redirect("dashboard:customer_detail", customer_id=customer.pk)
