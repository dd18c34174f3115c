"""``manage.py check --deploy --fail-level WARNING`` passes under exactly the production
settings the README gives (its ``.env`` example, expanded by bash as the README has you
do), and fails with the old development key. The same settings switch on the HTTPS
redirect, HSTS and secure cookies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings

from tests.production.test_secret_key import OLD_DEFAULT, run

README = Path(django_settings.BASE_DIR, "README.md")


def readme_production_env() -> dict[str, str]:
    """The lines of the README's ``cat > .env <<EOF`` example, expanded by bash."""
    text = README.read_text()
    section = text[text.index("## Running in production") :]
    match = re.search(r"^cat > \.env <<EOF\n(.*?)^EOF$", section, re.S | re.M)
    assert match, "the README's production section has no `cat > .env <<EOF` example"
    expanded = subprocess.run(  # noqa: S603 (the README's own lines, ours)
        ["bash", "-c", f"cat <<EOF\n{match.group(1)}EOF\n"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(line.split("=", 1) for line in expanded.splitlines() if line.strip())


def test_the_readme_gives_the_settings_that_matter():
    env = readme_production_env()

    assert env["DEBUG"] == "false"
    assert env["SITE_URL"].startswith("https://")
    assert len(env["SECRET_KEY"]) >= 50
    assert {"DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL"} <= set(env)


def test_check_deploy_passes_with_the_readme_settings(tmp_path):
    env = readme_production_env()

    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        CLINIC_VAR_DIR=str(tmp_path),
        **env,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_with_the_old_development_key(tmp_path):
    env = {**readme_production_env(), "SECRET_KEY": OLD_DEFAULT}

    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        CLINIC_VAR_DIR=str(tmp_path),
        **env,
    )

    assert result.returncode != 0
    assert "SECRET_KEY is a known, published key" in result.stderr


def test_the_readme_settings_turn_on_https_protection(tmp_path):
    env = readme_production_env()
    names = [
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "CSRF_TRUSTED_ORIGINS",
        "SECURE_PROXY_SSL_HEADER",
        "DEBUG",
    ]
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"
    )
    result = run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        DJANGO_SETTINGS_MODULE="clinic.settings",
        CLINIC_VAR_DIR=str(tmp_path),
        **env,
    )
    assert result.returncode == 0, result.stderr

    assert json.loads(result.stdout) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_TRUSTED_ORIGINS": [env["SITE_URL"]],
        # Not unless asked for: gunicorn already trusts the proxy on 127.0.0.1.
        "SECURE_PROXY_SSL_HEADER": None,
        "DEBUG": False,
    }


def test_plain_http_site_url_keeps_cookies_usable_over_http(tmp_path):
    """``make run`` on http://127.0.0.1: no redirect, no HSTS, cookies not secure-only."""
    code = (
        "import json; from django.conf import settings; print(json.dumps(["
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]))"
    )
    result = run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        DJANGO_SETTINGS_MODULE="clinic.settings",
        CLINIC_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, 0, False, False]
