"""Bearer tokens: the token endpoint's answer read, and the token saved with the login for every
process to share (each process also keeps its own, in `provider`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from keyport.access.models import SensorbergAccount
from keyport.access.providers import ProviderError
from keyport.access.providers.sensorberg.json_api import NOT_UNDERSTOOD

# The scope of an app's (machine-to-machine) token in Sensorberg's published OAuth 2.0 setup.
TOKEN_SCOPE = "app"  # noqa: S105 (a scope name, not a secret)
# A token answer without expires_in is taken to last this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0
# Ask for a new token this long before the one held expires, so no call goes out on a stale one.
TOKEN_REFRESH_MARGIN_SECONDS = 30.0


def _token_from(answer: dict[str, Any]) -> tuple[str, float]:
    """The bearer token and its lifetime in seconds from the token endpoint's answer.

    OAuth 2.0 token types are case-insensitive (RFC 6749 5.1): "bearer" and "Bearer" alike.
    """
    token = answer.get("access_token")
    token_type = answer.get("token_type")
    try:
        lifetime = float(answer.get("expires_in", DEFAULT_TOKEN_LIFETIME_SECONDS))
    except (TypeError, ValueError):
        raise ProviderError(NOT_UNDERSTOOD) from None
    if not isinstance(token, str) or not token or not math.isfinite(lifetime) or lifetime <= 0:
        raise ProviderError(NOT_UNDERSTOOD)
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ProviderError(NOT_UNDERSTOOD)
    return token, lifetime


def _saved_token(account_id: int) -> tuple[str, float] | None:
    """The token saved with the login and when it expires (time.time), if there is one."""
    row = (
        SensorbergAccount.objects.filter(pk=account_id)
        .values_list("access_token", "token_expires_at")
        .first()
    )
    if row is None or not row[0] or row[1] is None:
        return None
    return row[0], row[1].timestamp()


def _token_save(account_id: int, token: str, *, expires_at: float) -> None:
    SensorbergAccount.objects.filter(pk=account_id).update(
        access_token=token, token_expires_at=dt.datetime.fromtimestamp(expires_at, tz=dt.UTC)
    )
