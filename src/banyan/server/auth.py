"""Who is calling: the API key in ``Authorization: Bearer`` (or ``X-API-Key``) as an ``Access``."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from banyan.errors import BanyanError
from banyan.server.keys import ApiKey, KeyRing
from banyan.types import Access


class AuthError(BanyanError):
    """No API key, or not an active one (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal behind a request; ``key`` is None when the server runs without keys."""

    access: Access
    key: ApiKey | None = None

    @property
    def admin(self) -> bool:
        return self.access.all_documents

    @property
    def owner(self) -> str:
        """Whose jobs these are: the key's id, or ``local`` without keys."""
        return self.key.id if self.key else "local"

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key.name if self.key else None, "key_id": self.key.id if self.key else None,
                "admin": self.admin, "principals": sorted(self.access.principals) if not self.admin else ["*"]}


def presented_secret(headers: Mapping[str, str]) -> str | None:
    """The secret a request carries: ``Authorization: Bearer <key>``, else ``X-API-Key``."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


def authenticate(ring: KeyRing | None, secret: str | None, *, require_keys: bool) -> Caller:
    """The caller for ``secret``. With no active key (and ``require_keys`` off: a loopback server),
    everyone is the local user and sees everything; otherwise a valid active key is required."""
    if ring is None or not ring.has_active():
        if require_keys:
            raise AuthError("this server requires an API key and none is active: "
                            "create one with `banyan keys add NAME`")
        return Caller(Access.everything())
    if secret is None:
        raise AuthError("an API key is required: send `Authorization: Bearer <key>` (or `X-API-Key: <key>`)")
    key = ring.verify(secret)
    if key is None:
        raise AuthError("invalid or revoked API key")
    return Caller(key.access(), key)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
