from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from keyport.demo.data import DEMO_PASSWORD, OWNER_EMAIL
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_with_debug_off_seeding_is_refused_and_creates_no_published_password(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", verbosity=0)
    assert not StaffUser.objects.exists()
    assert not Location.objects.exists()


def test_with_debug_off_force_seeds_anyway(settings):
    settings.DEBUG = False
    call_command("seed_demo", force=True, verbosity=0)
    assert StaffUser.objects.get(email=OWNER_EMAIL).check_password(DEMO_PASSWORD)


def test_make_demo_and_make_run_seed_with_debug_on():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    seeding = [line for line in makefile.splitlines() if "manage.py seed_demo" in line]
    assert len(seeding) == 2
    assert all("DEBUG=true" in line or "--force" in line for line in seeding)
