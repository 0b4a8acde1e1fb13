"""Times in lists, by the one rule of keyport.lib.times; in the dashboard and the portal alike:

{% times_caption times_zone %}
{% local_time entry.created_at entry.time_zone times_zone %}
"""

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from keyport.lib.times import DATE_FORMAT, ROW_FORMAT, local_date_html, local_time_html

register = template.Library()


@register.simple_tag
def local_time(
    value: dt.datetime | None, zone: str, list_zone: str | None, format: str = ROW_FORMAT
) -> SafeString:
    """A row's time in its zone; its zone's abbreviation beside it unless the list names that zone."""
    return local_time_html(value, zone, list_zone=list_zone, format=format)


@register.simple_tag
def local_date(value: dt.datetime | None, zone: str, format: str = DATE_FORMAT) -> SafeString:
    """The day a moment falls on in its zone: a contact created at 23:30 UTC was created the next
    day in Berlin."""
    return local_date_html(value, zone, format=format)


@register.simple_tag
def times_caption(list_zone: str | None) -> SafeString:
    """The line above a list that says which zone its times are in (or that each row says its own)."""
    if list_zone:
        words = gettext("Times in %(zone)s") % {"zone": list_zone}
    else:
        words = gettext("Each time in the time zone of its location")
    return format_html('<p class="small text-body-secondary mb-1" data-times-caption>{}</p>', words)
