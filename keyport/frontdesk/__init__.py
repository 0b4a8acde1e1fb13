"""The front desk's work across the domain: a customer's people and rentals together with the doors
and the portal access that follow from them.

Bookings, contacts and cars hold their own records and rules; the access engine derives grants from
them. A change that must reach the doors in the same transaction (Move in, Move out, Transfer, a
contact added or an account paused) is a service here, and the lists that read across those apps
(All Contacts, Rentals) are its queries.
"""
