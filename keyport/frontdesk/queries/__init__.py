"""Every read of the front desk that joins apps, by topic: contacts (All Contacts and
the customers staff see), portal access (Full or Ticket-only) and rentals (the Rentals list with
its access column). What other apps use is named here, so they import it from
`keyport.frontdesk.queries`."""

from keyport.frontdesk.queries.contacts import (
    CONTACT_SORTS,
    ContactFilters,
    contact_sort_keys,
    contacts_for_staff,
    contacts_page,
    customers_for_staff,
    customers_to_move_in,
    decode_cursor,
    encode_cursor,
    filter_contacts,
    find_customers_to_move_in,
    get_contact_for_manager,
    get_contact_for_staff,
    get_customer_for_manager,
    get_customer_for_staff,
    stream_contacts,
)
from keyport.frontdesk.queries.portal_access import (
    contacts_of_customer,
    customer_portal_access,
    customers_with_portal_access,
    get_portal_contact,
    is_storage_customer,
    portal_access_expression,
    with_portal_facts,
)
from keyport.frontdesk.queries.rentals import (
    RentalDay,
    RentalFilters,
    RentalScope,
    filter_rentals,
    phase_conditions,
    rental_cursor,
    rentals_page,
)

__all__ = [
    "CONTACT_SORTS",
    "ContactFilters",
    "RentalDay",
    "RentalFilters",
    "RentalScope",
    "contact_sort_keys",
    "contacts_for_staff",
    "contacts_of_customer",
    "contacts_page",
    "customer_portal_access",
    "customers_for_staff",
    "customers_to_move_in",
    "customers_with_portal_access",
    "decode_cursor",
    "encode_cursor",
    "filter_contacts",
    "filter_rentals",
    "find_customers_to_move_in",
    "get_contact_for_manager",
    "get_contact_for_staff",
    "get_customer_for_manager",
    "get_customer_for_staff",
    "get_portal_contact",
    "is_storage_customer",
    "phase_conditions",
    "portal_access_expression",
    "rental_cursor",
    "rentals_page",
    "stream_contacts",
    "with_portal_facts",
]
