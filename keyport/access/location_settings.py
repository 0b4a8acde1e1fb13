"""A location's settings that reach the doors: how its grants get there (the access provider and
its login) and the time zone its grants' windows are counted in."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import ngettext

from keyport.access.models import SensorbergAccount
from keyport.access.providers import ConnectionCheck
from keyport.access.providers.builtin import BuiltinProvider
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.providers.sensorberg.connections import base_url_refusal, close_clients
from keyport.access.providers.sensorberg.memberships import unit_external_id
from keyport.access.providers.sensorberg.provider import forget_token
from keyport.access.queries import sync_changes_on_the_way
from keyport.access.services import (
    grants_push_for_location,
    grants_remove_from_provider,
    grants_sync_for_location,
)
from keyport.audit.services import Actor, audit_changes
from keyport.contacts.services import contact_search_texts_refresh
from keyport.facilities.models import AccessProvider, Location, Unit, validate_provider_base_url
from keyport.facilities.services import location_set_opening_hours, location_update


@dataclass(frozen=True, kw_only=True)
class SensorbergCredentials:
    base_url: str
    client_id: str
    client_secret: str = ""  # empty keeps the stored secret, for the same base URL only


def _sensorberg_login(
    location: Location, stored: SensorbergAccount | None, credentials: SensorbergCredentials
) -> SensorbergAccount:
    """The account these credentials describe, not saved; a blank secret means the stored one
    when the base URL stays the same.

    Refused with each problem under the settings form's field name, so the owner sees it there.
    """
    base_url = credentials.base_url.strip()
    client_id = credentials.client_id.strip()
    # The stored secret goes only to the address it was entered for: a new base URL needs it
    # typed again, or anyone changing the URL could have it sent to a server of their own.
    same_address = stored is not None and base_url.rstrip("/") == stored.base_url.rstrip("/")
    client_secret = credentials.client_secret.strip() or (
        stored.client_secret if stored and same_address else ""
    )
    errors: dict[str, list[str]] = {}
    if not base_url:
        errors["sensorberg_base_url"] = ["Enter the Sensorberg API's base URL."]
    else:
        try:
            validate_provider_base_url(base_url)
        except ValidationError as error:
            errors["sensorberg_base_url"] = error.messages
        else:
            refusal = base_url_refusal(base_url)
            if refusal:
                errors["sensorberg_base_url"] = [refusal]
    if not client_id:
        errors["sensorberg_client_id"] = ["Enter the client id Sensorberg issued."]
    if not client_secret and stored is not None and stored.client_secret and not same_address:
        errors["sensorberg_client_secret"] = ["Enter the client secret again for this base URL."]
    elif not client_secret:
        errors["sensorberg_client_secret"] = ["Enter the client secret Sensorberg issued."]
    if errors:
        raise ValidationError(errors)
    return SensorbergAccount(
        pk=stored.pk if stored else None,
        location=location,
        base_url=base_url.rstrip("/"),
        client_id=client_id,
        client_secret=client_secret,
    )


@transaction.atomic
def location_set_access_provider(
    *,
    actor: Actor,
    location: Location,
    provider: str,
    sensorberg: SensorbergCredentials | None = None,
) -> Location:
    """Choose how grants reach the doors and, for Sensorberg, keep its login.

    The audit entry names what changed; of the secret it only says that it changed.
    Switching back to the built-in server keeps the Sensorberg login for later, and removes
    there every grant Keyport put there.
    """
    if provider not in AccessProvider.values:
        raise ValidationError({"access_provider": "Choose one of the listed access providers."})
    location = Location.objects.select_for_update().get(pk=location.pk)
    _refuse_to_leave_changes_behind(location, provider, sensorberg)
    changed: dict[str, object] = {}
    if provider == AccessProvider.SENSORBERG:
        changed |= _sensorberg_account_save(
            location, sensorberg or SensorbergCredentials(base_url="", client_id="")
        )
    if location.access_provider != provider:
        left = location.access_provider
        changed["access_provider"] = [left, provider]
        location.access_provider = provider
        location.save(update_fields=["access_provider"])
        if left == AccessProvider.SENSORBERG:
            changed["grants_removed"] = grants_remove_from_provider(location=location, provider=left)
    if provider == AccessProvider.SENSORBERG and changed.keys() - {"sensorberg_client_secret"}:
        changed["grants_pushed"] = grants_push_for_location(location=location)
    audit_changes(
        actor=actor,
        action="location.access_provider_set",
        target=location,
        location=location,
        changed=changed,
    )
    return location


def _refuse_to_leave_changes_behind(
    location: Location, provider: str, sensorberg: SensorbergCredentials | None
) -> None:
    """Changes still on their way to the Sensorberg account (a revocation among them) must reach
    that account: it cannot be exchanged for another until they have gone through. Leaving
    Sensorberg keeps the account, so its removals still get there."""
    stored = SensorbergAccount.objects.filter(location=location).first()
    if provider != AccessProvider.SENSORBERG or sensorberg is None or stored is None:
        return
    same_account = (sensorberg.base_url.strip().rstrip("/"), sensorberg.client_id.strip()) == (
        stored.base_url.rstrip("/"),
        stored.client_id,
    )
    waiting = sync_changes_on_the_way(location)
    if not same_account and waiting:
        raise ValidationError(
            {
                "access_provider": (
                    ngettext(
                        "Keyport is still sending %(count)d access change to this Sensorberg account. "
                        "Change the account once it has gone through.",
                        "Keyport is still sending %(count)d access changes to this Sensorberg account. "
                        "Change the account once they have gone through.",
                        waiting,
                    )
                    % {"count": waiting}
                )
            }
        )


def _sensorberg_account_save(location: Location, credentials: SensorbergCredentials) -> dict[str, object]:
    stored = SensorbergAccount.objects.filter(location=location).first()
    before = (stored.base_url, stored.client_id, stored.client_secret) if stored else ("", "", "")
    account = _sensorberg_login(location, stored, credentials)
    account.full_clean(validate_unique=False)
    changed: dict[str, object] = {}
    if account.base_url != before[0]:
        changed["sensorberg_base_url"] = [before[0], account.base_url]
    if account.client_id != before[1]:
        changed["sensorberg_client_id"] = [before[1], account.client_id]
    if account.client_secret != before[2]:
        changed["sensorberg_client_secret"] = "changed" if before[2] else "set"
    if changed:
        account.save()  # without the token issued to the login it replaces
        if stored is not None:
            _sensorberg_token_revoke_on_commit(stored, account)
    return changed


# Revoking is a courtesy to the vendor while the owner waits on Save: a token not revoked
# expires on its own.
TOKEN_REVOKE_TIMEOUT_SECONDS = 3.0


def _sensorberg_token_revoke_on_commit(before: SensorbergAccount, after: SensorbergAccount) -> None:
    """Once the new login is saved, revoke the token issued to the one it replaces, forget it in
    this process (other processes find it refused and fetch one with the new login) and close this
    process's pooled connections to the old base URL.

    Asked with the old client id and secret; when only the secret changed and the vendor no longer
    takes the old one, with the new.
    """
    token = before.access_token
    logins = [before]
    if (before.base_url, before.client_id) == (after.base_url, after.client_id):
        logins.append(after)

    def revoke() -> None:
        forget_token(before.base_url, before.client_id)
        for login in logins if token else []:
            client = SensorbergProvider(
                base_url=login.base_url, client_id=login.client_id, client_secret=login.client_secret
            )
            if client.revoke_token(token, timeout=TOKEN_REVOKE_TIMEOUT_SECONDS):
                break
        close_clients(before.base_url)  # this process's connections there end with the old login

    transaction.on_commit(revoke)


# A test makes real calls to the vendor while the owner waits; keep it short.
CONNECTION_TEST_TIMEOUT_SECONDS = 5.0


def access_provider_test_connection(
    *, location: Location, provider: str, sensorberg: SensorbergCredentials | None = None
) -> ConnectionCheck:
    """Try these provider settings (a blank secret means the stored one) without saving anything.

    An incomplete Sensorberg login is refused with a ValidationError, as when saving it.
    """
    if provider != AccessProvider.SENSORBERG:
        return BuiltinProvider().test_connection(timeout=CONNECTION_TEST_TIMEOUT_SECONDS)
    stored = SensorbergAccount.objects.filter(location=location).first()
    credentials = sensorberg or SensorbergCredentials(base_url="", client_id="")
    account = _sensorberg_login(location, stored, credentials)
    client = SensorbergProvider(
        base_url=account.base_url, client_id=account.client_id, client_secret=account.client_secret
    )
    units = Unit.objects.filter(location=location).only("number")
    return client.test_connection(
        timeout=CONNECTION_TEST_TIMEOUT_SECONDS, external_ids=[unit_external_id(unit) for unit in units]
    )


@transaction.atomic
def location_details_update(*, actor: Actor, location: Location, **changes: str) -> Location:
    """Change a location's name, address or time zone (see location_update).

    A new time zone makes the same local days other instants, so the location's grants are
    synced again; a new country folds its customers' search texts again.
    """
    stored_zone, stored_country = (
        Location.objects.select_for_update().values_list("time_zone", "country").get(pk=location.pk)
    )
    location = location_update(actor=actor, location=location, **changes)
    if location.time_zone != stored_zone:
        grants_sync_for_location(actor=actor, location=location)
    if location.country != stored_country:
        # The country says whether its customers' names are searched with German spellings.
        contact_search_texts_refresh(location=location)
    return location


@transaction.atomic
def location_settings_save(
    *,
    actor: Actor,
    location: Location,
    details: dict[str, str],
    opening_hours: Iterable[tuple[int, dt.time, dt.time]],
    provider: str,
    sensorberg: SensorbergCredentials | None = None,
) -> Location:
    """The location settings page: all of it or nothing; each part audits its own change."""
    location_details_update(actor=actor, location=location, **details)
    location_set_opening_hours(actor=actor, location=location, hours=opening_hours)
    return location_set_access_provider(
        actor=actor, location=location, provider=provider, sensorberg=sensorberg
    )
