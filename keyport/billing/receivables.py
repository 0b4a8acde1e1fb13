"""Receivables: what customers owe on open invoices, aged by the days past due at each location's
own today, per customer and per location, in the location's currency.

Read in a constant number of queries however many customers and invoices: the open balances are
summed by the database, grouped by location, customer and age.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, CharField, Q, QuerySet, Sum, Value, When

from keyport.billing.models import CENT, BillingSettings, Invoice, InvoiceStatus
from keyport.billing.queries import invoices_for_staff
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Age:
    """Invoices this many days past their due date, at their location's today (either end open)."""

    key: str
    label: str
    first_day: int | None
    last_day: int | None

    def due_on(self, today: dt.date) -> Q:
        """The due dates of this age on that local day."""
        due = Q()
        if self.first_day is not None:
            due &= Q(due_on__lte=today - dt.timedelta(days=self.first_day))
        if self.last_day is not None:
            due &= Q(due_on__gte=today - dt.timedelta(days=self.last_day))
        return due


# An invoice is overdue the day after it is due (Invoice.is_overdue_on): due today is current.
AGES = (
    Age("current", "Current", None, 0),
    Age("1_30", "1–30 days", 1, 30),
    Age("31_60", "31–60 days", 31, 60),
    Age("over_60", "Over 60 days", 61, None),
)
OVERDUE = Age("overdue", "Overdue", 1, None)
AGE_FILTERS = {age.key: age for age in (*AGES, OVERDUE)}


def local_today(location: Location, now: dt.datetime) -> dt.date:
    return now.astimezone(location.zone).date()


def currencies_of(locations: Iterable[Location]) -> dict[int, str]:
    """Each location's one currency (see billing.queries.currency_of), in one query for them all."""
    default = str(BillingSettings._meta.get_field("currency").default)
    ids = [location.pk for location in locations]
    found = dict(BillingSettings.objects.filter(location_id__in=ids).values_list("location_id", "currency"))
    return {pk: found.get(pk) or default for pk in ids}


def invoices_of_age(
    invoices: QuerySet[Invoice], *, locations: Iterable[Location], age: Age, now: dt.datetime
) -> QuerySet[Invoice]:
    """The open ones among these invoices of that age, each at its own location's today."""
    at_age = Q(pk__in=[])
    for location in locations:
        at_age |= Q(location_id=location.pk) & age.due_on(local_today(location, now))
    return invoices.filter(at_age, status=InvoiceStatus.OPEN)


def filter_invoices(
    user: StaffUser,
    *,
    status: str,
    location_id: int | None,
    customer_id: int | None,
    age: Age | None,
    now: dt.datetime,
) -> QuerySet[Invoice]:
    """The staff invoice list, narrowed as the Receivables page's links ask: a status, a location,
    a customer, an age (which means open invoices only)."""
    invoices = invoices_for_staff(user)
    if status:
        invoices = invoices.filter(status=status)
    if location_id is not None:
        invoices = invoices.filter(location_id=location_id)
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    if age is not None:
        locations = locations_for_staff(user)
        if location_id is not None:
            locations = locations.filter(pk=location_id)
        invoices = invoices_of_age(invoices, locations=list(locations), age=age, now=now)
    return invoices


def _open_sums(locations: list[Location], now: dt.datetime, *, by_customer: bool) -> list[dict]:
    """The open balances of these locations grouped by age (and customer): one query."""
    if not locations:
        return []
    age = Case(
        *(
            When(Q(location_id=location.pk) & each.due_on(local_today(location, now)), then=Value(each.key))
            for location in locations
            for each in AGES
        ),
        output_field=CharField(),
    )
    group = ["location_id", "age", *(["customer_id", "customer__name"] if by_customer else [])]
    return list(
        Invoice.objects.filter(
            location__in=[location.pk for location in locations], status=InvoiceStatus.OPEN
        )
        .annotate(age=age)
        .values(*group)
        .annotate(total=Sum("total"), paid=Sum("amount_paid"))
        .order_by()
    )


def _owed(row: dict) -> Decimal:
    # SQLite sums decimals as floats; back to exact cents.
    return Decimal(row["total"] - row["paid"]).quantize(CENT)


@dataclass(frozen=True)
class AgeAmount:
    age: Age
    amount: Decimal


@dataclass
class Aging:
    """Open balances by age."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: {age.key: ZERO for age in AGES})

    def add(self, age_key: str, amount: Decimal) -> None:
        self.amounts[age_key] += amount

    @property
    def cells(self) -> list[AgeAmount]:
        return [AgeAmount(age, self.amounts[age.key]) for age in AGES]

    @property
    def overdue(self) -> Decimal:
        return sum((self.amounts[age.key] for age in AGES if age.first_day), ZERO)

    @property
    def open(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


@dataclass
class CustomerAging(Aging):
    customer_id: int = 0
    name: str = ""


@dataclass
class LocationReceivables:
    location: Location
    currency: str
    today: dt.date
    customers: list[CustomerAging]
    totals: Aging


def receivables_of(locations: list[Location], now: dt.datetime) -> list[LocationReceivables]:
    """Each location's open balances per customer and in total, aged: two queries."""
    currencies = currencies_of(locations)
    per_location: dict[int, dict[int, CustomerAging]] = {location.pk: {} for location in locations}
    totals = {location.pk: Aging() for location in locations}
    for row in _open_sums(locations, now, by_customer=True):
        customers, owed = per_location[row["location_id"]], _owed(row)
        if row["customer_id"] not in customers:
            customers[row["customer_id"]] = CustomerAging(
                customer_id=row["customer_id"], name=row["customer__name"]
            )
        customers[row["customer_id"]].add(row["age"], owed)
        totals[row["location_id"]].add(row["age"], owed)
    return [
        LocationReceivables(
            location=location,
            currency=currencies[location.pk],
            today=local_today(location, now),
            customers=_most_overdue_first(per_location[location.pk].values()),
            totals=totals[location.pk],
        )
        for location in locations
    ]


def _most_overdue_first(customers: Iterable[CustomerAging]) -> list[CustomerAging]:
    """Those who owe something, the most overdue first (then the most open): whom to call first."""
    keyed = [
        ((-aging.overdue, -aging.open, aging.name.casefold(), aging.customer_id), aging)
        for aging in customers
        if aging.open
    ]
    return [aging for _, aging in sorted(keyed, key=lambda pair: pair[0])]


def receivables_for_staff(
    user: StaffUser, now: dt.datetime, *, location_id: int | None = None
) -> list[LocationReceivables]:
    """The Receivables page: the staff member's locations (or the one asked for among them)."""
    locations = locations_for_staff(user).order_by("name")
    if location_id is not None:
        locations = locations.filter(pk=location_id)
    return receivables_of(list(locations), now)


@dataclass(frozen=True)
class Overdue:
    amount: Decimal
    currency: str


def overdue_per_location(locations: list[Location], now: dt.datetime) -> dict[int, Overdue]:
    """The Overview's overdue total of each location, in its currency: two queries."""
    currencies = currencies_of(locations)
    amounts = {location.pk: ZERO for location in locations}
    for row in _open_sums(locations, now, by_customer=False):
        if AGE_FILTERS[row["age"]].first_day:
            amounts[row["location_id"]] += _owed(row)
    return {pk: Overdue(amount, currencies[pk]) for pk, amount in amounts.items()}
