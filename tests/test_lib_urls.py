import pytest
from django.urls import reverse

from keyport.lib.urls import id_url


@pytest.mark.parametrize(
    "name", ["dashboard:unit_edit", "dashboard:customer_detail", "dashboard:booking_detail"]
)
def test_a_link_by_id_is_the_one_reverse_gives(name):
    link = id_url(name)
    for object_id in (1, 7, 42, 1_000_000):
        assert link(object_id) == reverse(name, args=[object_id])


def test_a_link_by_id_takes_only_an_integer():
    with pytest.raises(ValueError):
        id_url("dashboard:unit_edit")("1/../../admin")
