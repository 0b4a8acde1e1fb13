"""Every read of the front desk that joins apps, by topic: rentals (the Rentals list with its
access column). What other apps use is named here, so they import it from
`keyport.frontdesk.queries`."""

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
    "RentalDay",
    "RentalFilters",
    "RentalScope",
    "filter_rentals",
    "phase_conditions",
    "rental_cursor",
    "rentals_page",
]
