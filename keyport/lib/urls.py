"""Links to many objects of one kind, as a list page needs one a row."""

from collections.abc import Callable

from django.urls import reverse

# An id no row has: it marks where the pattern puts the id.
_MARKER = 987654321987


def id_url(name: str) -> Callable[[int], str]:
    """`reverse(name, args=[id])` for any id, at the cost of one reversal for all of them.

    For a URL pattern whose only argument is an integer id; the pattern's own text is kept, so a
    change of the URLconf changes every link.
    """
    head, tail = reverse(name, args=[_MARKER]).split(str(_MARKER))
    return lambda object_id: f"{head}{int(object_id)}{tail}"
