"""Passwords are hashed with Argon2 in production; older PBKDF2 hashes upgrade at sign-in.

The suite hashes with MD5 for speed (config/settings.py), so these tests put the production
list back with override_settings.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import override_settings

from tests.factories import PASSWORD, ProFactory

pytestmark = pytest.mark.django_db

production_hashers = override_settings(PASSWORD_HASHERS=settings.PRODUCTION_PASSWORD_HASHERS)


def test_production_hashes_with_argon2_first_and_still_reads_pbkdf2():
    algorithms = [h.rsplit(".", 1)[1] for h in settings.PRODUCTION_PASSWORD_HASHERS]
    assert algorithms[0] == "Argon2PasswordHasher"
    assert {"PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher"} <= set(algorithms[1:])


def test_a_production_process_uses_that_list():
    script = (
        "import django; django.setup(); from django.contrib.auth.hashers import get_hasher; "
        "print(get_hasher().algorithm)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING"}}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "refunds.example.com",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "argon2", result.stderr


@production_hashers
def test_a_pbkdf2_hash_becomes_argon2_when_its_owner_signs_in(client):
    pro = ProFactory(email="old-hash@example.test")
    pro.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    pro.save(update_fields=["password"])
    assert pro.password.startswith("pbkdf2_sha256$")

    response = client.post("/login/", {"username": pro.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == "/"
    pro.refresh_from_db()
    assert pro.password.startswith("argon2$")
    assert identify_hasher(pro.password).algorithm == "argon2"
    # The new hash is the same password: signing in again works.
    client.logout()
    again = client.post("/login/", {"username": pro.email, "password": PASSWORD})
    assert again.status_code == 302


@production_hashers
def test_a_wrong_password_leaves_the_old_hash_alone(client):
    pro = ProFactory(email="old-hash@example.test")
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    pro.password = old
    pro.save(update_fields=["password"])

    response = client.post("/login/", {"username": pro.email, "password": "not-the-password"})

    assert response.status_code == 200
    pro.refresh_from_db()
    assert pro.password == old


@production_hashers
def test_new_passwords_are_argon2():
    pro = ProFactory(email="new@example.test")
    assert pro.password.startswith("argon2$")
    assert pro.check_password(PASSWORD)
