"""API keys: who a request acts as, stored hashed in ``<index>/keys.json``.

A key's secret (``byn_<id>_<43 random characters>``, 32 random bytes) is shown once when the key is
made; the file keeps only its SHA-256, and a presented secret is compared with
``hmac.compare_digest``. Each key carries principals (a user and groups) that become the caller's
``Access``; an admin key sees every document. The ring re-reads the file when it changes, so
``banyan keys add`` and ``banyan keys revoke`` apply to a running server at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from banyan.errors import ConfigError, NotFoundError
from banyan.types import PUBLIC, Access, normalize_principals

KEY_FILE = "keys.json"
SECRET_PREFIX = "byn"
_SECRET_RE = re.compile(rf"^{SECRET_PREFIX}_([0-9a-f]{{8}})_[A-Za-z0-9_-]{{43}}$")
_PRINCIPAL_RE = re.compile(r"^[\w.@-]+$")


class KeyRingError(ConfigError):
    """The key file is unreadable, or a key was asked for with bad values."""


class KeyNotFoundError(NotFoundError):
    """No active key has that id or name."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key as stored: never its secret, only the secret's SHA-256."""

    id: str
    name: str
    user: str
    groups: tuple[str, ...]
    admin: bool
    created: float
    digest: str
    revoked: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    @property
    def principals(self) -> tuple[str, ...]:
        return (self.user, *self.groups)

    def access(self) -> Access:
        """What this key may read: everything for an admin, else its user's and groups' documents."""
        return Access.everything() if self.admin else Access.of(*self.principals)

    def to_dict(self, *, with_digest: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "user": self.user, "groups": list(self.groups),
                               "admin": self.admin, "created": self.created, "revoked": self.revoked}
        if with_digest:
            out["sha256"] = self.digest
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ApiKey:
        return cls(str(d["id"]), str(d["name"]), str(d["user"]), tuple(d.get("groups", ())), bool(d.get("admin")),
                   float(d["created"]), str(d["sha256"]), None if d.get("revoked") is None else float(d["revoked"]))


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made, with the secret that is shown this once and never stored."""

    key: ApiKey
    secret: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def principal(name: str, what: str) -> str:
    """A principal name as stored (lower case), or KeyRingError saying what is wrong with it."""
    norm = next(iter(normalize_principals([name])), "")
    if not norm or not _PRINCIPAL_RE.match(norm):
        raise KeyRingError(f"invalid {what} {name!r}: use letters, digits and . _ @ - only")
    return norm


class KeyRing:
    """The API keys of one index, in ``path`` (a JSON file; created by the first ``add``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    @classmethod
    def at(cls, index_dir: Path | str) -> KeyRing:
        return cls(Path(index_dir) / KEY_FILE)

    # -- reading --------------------------------------------------------------------------------
    def all_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first (the file is re-read when it changed)."""
        with self._lock:
            self._refresh()
            return sorted(self._keys.values(), key=lambda k: (k.created, k.id))

    def active(self) -> list[ApiKey]:
        return [k for k in self.all_keys() if k.active]

    def has_active(self) -> bool:
        return bool(self.active())

    def verify(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, or None."""
        m = _SECRET_RE.match(secret.strip())
        if m is None:
            return None
        with self._lock:
            self._refresh()
            key = self._keys.get(m.group(1))
        if key is None or not key.active or not hmac.compare_digest(digest(secret.strip()), key.digest):
            return None
        return key

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._keys = {k.id: k for k in _read(self.path)}
            self._stamp = stamp

    # -- changing -------------------------------------------------------------------------------
    def add(self, name: str, *, user: str | None = None, groups: Iterable[str] = (), admin: bool = False) -> NewKey:
        """A new key for ``user`` (default: ``name``) in ``groups``; the secret is only in the result."""
        name = name.strip()
        if not name:
            raise KeyRingError("a key needs a name")
        who = principal(user or name, "user")
        if who == PUBLIC:
            raise KeyRingError(f"{PUBLIC!r} is every caller's principal, not a user")
        group_names = tuple(dict.fromkeys(principal(g, "group") for g in groups if g.strip()))
        with self._editing() as keys:
            if any(k.active and k.name == name for k in keys.values()):
                raise KeyRingError(f"an active key is already named {name!r}; revoke it first or pick another name")
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            secret = f"{SECRET_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
            key = ApiKey(key_id, name, who, group_names, admin, time.time(), digest(secret))
            keys[key_id] = key
        return NewKey(key, secret)

    def revoke(self, id_or_name: str) -> ApiKey:
        """Revoke the active key with this id (or, if unambiguous, name)."""
        with self._editing() as keys:
            found = [k for k in keys.values() if k.active and id_or_name in (k.id, k.name)]
            if not found:
                raise KeyNotFoundError(f"no active key with id or name {id_or_name!r} (see `banyan keys list`)")
            if len(found) > 1:
                raise KeyRingError(f"{id_or_name!r} names several keys; revoke by id")
            key = replace(found[0], revoked=time.time())
            keys[key.id] = key
        return key

    @contextmanager
    def _editing(self) -> Iterator[dict[str, ApiKey]]:
        """Read, change and atomically rewrite the file under an OS lock (two CLIs never lose a key)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+b") as lock, self._lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = {k.id: k for k in _read(self.path)} if self.path.exists() else {}
            yield keys
            _write(self.path, keys.values())
            self._stamp = None


def _read(path: Path) -> list[ApiKey]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [ApiKey.from_dict(d) for d in data["keys"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyRingError(f"cannot read the API keys in {path}: {exc}; fix or remove the file") from exc


def _write(path: Path, keys: Iterable[ApiKey]) -> None:
    tmp = path.with_suffix(".json.tmp")
    payload = json.dumps({"keys": [k.to_dict(with_digest=True) for k in keys]}, indent=2)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # secrets' hashes: owner only
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(payload + "\n")
    tmp.replace(path)
