"""No known secret: with SECRET_KEY unset a random key is generated once into the var
folder (mode 0600, the same for every process that starts at the same moment) and
reused; with DEBUG off a short or known key stops manage.py, gunicorn and Celery."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from clinic import secret_key
from tests.production.helpers import BIN, strong_key

OLD_DEFAULT = "dev-only-insecure-key-change-me-in-production"


def run(args: list[str], **env) -> subprocess.CompletedProcess:
    """A command of ours in a clean environment (only what is given, no .env values
    the caller has not named)."""
    return subprocess.run(  # noqa: S603 (our own venv's programs, fixed args)
        args,
        cwd=django_settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Generated once, reused --------------------------------------------------------------------
def test_a_missing_key_is_generated_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "var" / "secret_key"

    first = secret_key.generated(path)
    again = secret_key.generated(path)

    assert first == again
    assert secret_key.weakness(first) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no drafts left


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    start = threading.Barrier(8)
    keys: list[str] = []

    def racer():
        start.wait()
        keys.append(secret_key.generated(path))

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert path.read_text() == keys[0]


def test_settings_without_secret_key_use_the_generated_file(tmp_path):
    """Two separate processes loading the settings with SECRET_KEY unset (DEBUG off)
    sign with the same key, the one in CLINIC_VAR_DIR/secret_key."""
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"DJANGO_SETTINGS_MODULE": "clinic.settings", "CLINIC_VAR_DIR": str(tmp_path)}
    starts = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=django_settings.BASE_DIR,
            env={"PATH": os.environ["PATH"], **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in starts]

    keys = {out.strip() for out, _err in outputs}
    assert all(process.returncode == 0 for process in starts), outputs
    assert keys == {(tmp_path / "secret_key").read_text()}


def test_a_key_file_others_may_read_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text(strong_key())
    path.chmod(0o644)

    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        secret_key.generated(path)


# Weak keys -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "why"),
    [
        (OLD_DEFAULT, "known"),
        ("django-insecure-" + "x7Gk2pQ9vL4mZ8rT1wY6bN3cF5hJ0dS" * 2, "django-insecure-"),
        ("aB3$" * 12, "too short"),  # 48 characters
        ("ab" * 40, "different characters"),
        ("changeme", "known"),
    ],
)
def test_short_or_known_keys_are_weak(key, why):
    assert why in secret_key.weakness(key)


def test_a_long_random_key_is_not_weak():
    assert secret_key.weakness(strong_key()) is None


def test_a_weak_fallback_key_is_refused_too():
    with pytest.raises(ImproperlyConfigured, match=r"SECRET_KEY_FALLBACKS\[0\]"):
        secret_key.refuse_weak(strong_key(), [OLD_DEFAULT])


# Refusing to start -------------------------------------------------------------------------
def test_manage_py_refuses_to_start_with_the_old_default_key(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check"],
        SECRET_KEY=OLD_DEFAULT,
        DEBUG="false",
        CLINIC_VAR_DIR=str(tmp_path),
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is a known, published key" in result.stderr
    assert "refuses to start with DEBUG off" in result.stderr


def test_gunicorn_refuses_to_start_with_a_short_key(tmp_path):
    result = run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--check-config", "clinic.wsgi"],
        SECRET_KEY="short-key",
        DEBUG="false",
        CLINIC_VAR_DIR=str(tmp_path),
    )

    assert result.returncode != 0
    assert "SECRET_KEY is too short (9 characters; at least 50)" in result.stdout + result.stderr


def test_celery_refuses_to_start_with_a_django_insecure_key(tmp_path):
    result = run(
        [str(BIN / "celery"), "-A", "clinic", "report"],
        SECRET_KEY="django-insecure-" + "k" * 20 + "abcdefghij" * 3,
        DEBUG="false",
        CLINIC_VAR_DIR=str(tmp_path),
    )

    assert result.returncode != 0
    assert "SECRET_KEY starts with 'django-insecure-'" in result.stdout + result.stderr


def test_with_debug_on_a_development_key_is_accepted(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check"],
        SECRET_KEY="dev",
        DEBUG="true",
        CLINIC_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert not Path(tmp_path, "secret_key").exists()  # a key was given: nothing generated
