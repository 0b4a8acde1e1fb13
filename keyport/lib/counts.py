"""Counts of related rows as a subquery, so a list page annotates them in its own query."""

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


def count_per(queryset: QuerySet[Any], group_field: str, outer_field: str, counted: str = "pk") -> Coalesce:
    """How many distinct `counted` of `queryset` have `group_field` equal to the outer row's
    `outer_field` (0 when none): for `annotate()`."""
    per_row = (
        queryset.filter(**{group_field: OuterRef(outer_field)})
        .order_by()
        .values(group_field)
        .annotate(n=Count(counted, distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(per_row, output_field=IntegerField()), 0)
