"""The secret key (issue 12, "No known secret").

``SECRET_KEY`` signs the email links that let a client cancel a session without a login,
and the Message-IDs of reminders. A key anyone can read (the old default in the
repository, a placeholder from a tutorial) lets anyone forge those links, so:

- with ``SECRET_KEY`` unset, a random key is generated once into the var folder (mode
  0600) and every later start, and every other process on the machine, reads that same
  file;
- with ``DEBUG`` off, a short or known key stops every process that loads the settings
  (``manage.py``, gunicorn, Celery) with ``ImproperlyConfigured``.

Imported by ``clinic.settings``: plain Python, no Django settings needed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Django's own thresholds for ``check --deploy`` (security.W009).
MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5
INSECURE_PREFIX = "django-insecure-"
# Keys that have been public: the default this repository shipped with before issue 12,
# and placeholders people copy from examples.
KNOWN_KEYS = frozenset(
    {
        "dev-only-insecure-key-change-me-in-production",
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "your-secret-key",
        "your-secret-key-here",
        "replace-me",
        "insecure",
    }
)
HOW_TO = (
    "Set SECRET_KEY to a random string of at least 50 characters, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or leave it unset to "
    "have one generated once into the var folder (CLINIC_VAR_DIR/secret_key)."
)


def weakness(key: str) -> str | None:
    """Why ``key`` must not sign anything in production, or None if it is fine."""
    if key in KNOWN_KEYS or key.lower() in KNOWN_KEYS:
        return "is a known, published key"
    if key.startswith(INSECURE_PREFIX):
        return f"starts with {INSECURE_PREFIX!r} (a key Django generates for development)"
    if len(key) < MIN_LENGTH:
        return f"is too short ({len(key)} characters; at least {MIN_LENGTH})"
    if len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"has fewer than {MIN_UNIQUE_CHARACTERS} different characters"
    return None


def refuse_weak(key: str, fallbacks: Iterable[str] = ()) -> None:
    """Raise ImproperlyConfigured if the key, or a fallback key, is short or known."""
    for name, value in [("SECRET_KEY", key)] + [
        (f"SECRET_KEY_FALLBACKS[{i}]", fallback) for i, fallback in enumerate(fallbacks)
    ]:
        why = weakness(value)
        if why:
            raise ImproperlyConfigured(
                f"{name} {why}; the app refuses to start with DEBUG off, since anyone who "
                f"knows the key can forge the links in client emails. {HOW_TO}"
            )


def generated(path: Path) -> str:
    """The key in ``path``, generated there first if there is none.

    The file is written under a temporary name (mode 0600 from its creation) and then
    hard-linked to ``path``: the link is atomic and never replaces an existing file, so
    when several processes start together, the first link wins and all of them read the
    same key."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(64))
            file.flush()
            os.fsync(file.fileno())
        # Another process was first: use its key.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    with path.open() as file:
        mode = os.fstat(file.fileno()).st_mode
        key = file.read().strip()
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ImproperlyConfigured(
            f"{path} holds the secret key but others may read it (mode "
            f"{stat.S_IMODE(mode):04o}): `chmod 600 {path}`, or set SECRET_KEY."
        )
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it to generate a new key. {HOW_TO}")
    return key
