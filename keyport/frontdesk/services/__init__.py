"""Every write of the front desk, by topic: rentals (Move in, an end date, a cancellation), moves
(Move out, Transfer) and people (contacts and accounts). What other apps use is named here, so
they import it from `keyport.frontdesk.services`."""

from keyport.frontdesk.services.cars import car_to_bay
from keyport.frontdesk.services.moves import (
    CarOutcome,
    booking_move_out,
    booking_move_out_cancel,
    booking_transfer,
    booking_transfer_cancel,
)
from keyport.frontdesk.services.people import (
    contact_add,
    contact_profile_update,
    contact_update,
    customer_set_active,
)
from keyport.frontdesk.services.rentals import (
    MoveIn,
    booking_cancel,
    booking_cancel_reservation,
    booking_create,
    booking_move_in,
    booking_set_end_date,
)

__all__ = [
    "CarOutcome",
    "MoveIn",
    "booking_cancel",
    "booking_cancel_reservation",
    "booking_create",
    "booking_move_in",
    "booking_move_out",
    "booking_move_out_cancel",
    "booking_set_end_date",
    "booking_transfer",
    "booking_transfer_cancel",
    "car_to_bay",
    "contact_add",
    "contact_profile_update",
    "contact_update",
    "customer_set_active",
]
