"""The site's locks: CSRF on every state-changing POST, a throttle on sign-in, production settings.

The CSRF sweep posts to every URL of the project (the same list as the authorisation matrix,
tests/guarantees/site.py) without a token, as every kind of visitor: each is refused before any
view runs, and nothing changes. The API is the exception: it takes no cookies, only API keys.
The production checks run manage.py in a separate process with production's environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache.backends import locmem
from django.test import Client
from django.urls import reverse

from refunds.choices import Reason, Status
from refunds.models import RefundRequest
from tests.factories import LeadFactory
from tests.guarantees.site import admin_pages, build_world

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks):
    return build_world(
        alice, bob, rita, ralph, sam, root, monkeypatch, django_capture_on_commit_callbacks
    )


def snapshot() -> dict[str, list]:
    """Every row of our apps' tables, to show nothing changed."""
    rows = {}
    for app in ("accounts", "leads", "refunds", "integrations"):
        for model in apps.get_app_config(app).get_models():
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


# CSRF


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(world):
    pages, objects, visitors = world
    urls = [(name, url) for name, url in pages.items() if not name.startswith("api-v1:")]
    urls += [(f"admin {model} {page}", url) for (model, page), url in admin_pages(objects).items()]
    clients = {role: csrf_client(user) for role, user in visitors.items()}
    before = snapshot()

    for name, url in urls:
        for role, client in clients.items():
            response = client.post(url, {"transition": "approve", "reason": Reason.SPAM})
            assert response.status_code == 403, (name, role, response.status_code)
            assert b"CSRF verification failed" in response.content, (name, role)

    assert snapshot() == before
    # Nobody was signed out either: logout is a POST like the rest.
    assert clients["owner"].get(reverse("messages")).status_code == 200
    assert clients["root"].get(reverse("admin:index")).status_code == 200


def test_the_same_posts_with_the_token_go_through(alice, rita):
    lead = LeadFactory(pro=alice)
    client = csrf_client(alice)
    report = reverse("report", args=[lead.pk])
    client.get(report)  # the form page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(report, {"reason": Reason.SPAM, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    request = RefundRequest.objects.get(lead=lead)

    staff = csrf_client(rita)
    page = reverse("admin:refunds_refundrequest_change", args=[request.pk])
    staff.get(page)
    token = staff.cookies["csrftoken"].value
    response = staff.post(page, {"transition": "approve", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status in (Status.REVIEWED, Status.CREDITED)


def test_the_api_takes_no_cookies_so_needs_no_csrf_token(alice):
    # A signed-in browser cannot be made to write through the API: it answers to keys only.
    response = csrf_client(alice).put(
        reverse("api-v1:put_lead", args=["mp-lead-1"]), "{}", content_type="application/json"
    )
    assert response.status_code == 401


# The sign-in throttle


def sign_in(client: Client, url: str, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


PAUSED = "Too many failed sign-in attempts for this email address."


@pytest.mark.parametrize(
    ("url", "who"), [("/login/", "alice"), ("/login/", "rita"), ("/admin/login/", "rita")]
)
def test_sign_in_pauses_after_repeated_failures_even_for_the_right_password(
    client, url, who, request, password, settings
):
    user = request.getfixturevalue(who)
    limit = settings.LOGIN_THROTTLE["FAILURES"]
    for _ in range(limit):
        response = sign_in(client, url, user.email, "wrong-password")
        assert response.status_code == 200
        assert PAUSED not in response.content.decode()

    response = sign_in(client, url, user.email.upper(), password)
    assert response.status_code == 200
    html = response.content.decode()
    assert PAUSED in html
    assert f"paused for {settings.LOGIN_THROTTLE['MINUTES']} minutes" in html
    assert signed_in_as(client) is None

    # Keyed by login and address: the same person from elsewhere, or someone else, signs in.
    other = Client()
    assert sign_in(other, url, user.email, password, address="10.0.0.2").status_code == 302
    assert signed_in_as(other) == str(user.pk)


def test_the_pause_ends_after_its_minutes(client, alice, password, settings, monkeypatch):
    for _ in range(settings.LOGIN_THROTTLE["FAILURES"]):
        sign_in(client, "/login/", alice.email, "wrong-password")
    assert PAUSED in sign_in(client, "/login/", alice.email, password).content.decode()

    later = time.time() + settings.LOGIN_THROTTLE["MINUTES"] * 60 + 1
    monkeypatch.setattr(locmem.time, "time", lambda: later)
    assert sign_in(client, "/login/", alice.email, password).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(client, alice, password, settings):
    limit = settings.LOGIN_THROTTLE["FAILURES"]
    for _ in range(limit - 1):
        sign_in(client, "/login/", alice.email, "wrong-password")
    assert sign_in(client, "/login/", alice.email, password).status_code == 302
    client.post(reverse("logout"))
    for _ in range(limit - 1):
        sign_in(client, "/login/", alice.email, "wrong-password")
    assert sign_in(client, "/login/", alice.email, password).status_code == 302


ADDRESS_PAUSED = "Too many failed sign-in attempts from your network."


@pytest.mark.parametrize(("url", "who"), [("/login/", "alice"), ("/admin/login/", "rita")])
def test_many_emails_from_one_address_pause_that_address(
    client, url, who, request, password, settings
):
    """Password spraying: one password tried against many accounts from one address."""
    user = request.getfixturevalue(who)
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "IP_FAILURES": 8}
    for n in range(8):
        response = sign_in(client, url, f"someone{n}@example.test", "Summer2026!")
        assert ADDRESS_PAUSED not in response.content.decode()

    # Every login from there is paused, even a real one with its right password...
    response = sign_in(client, url, user.email, password)
    assert response.status_code == 200
    assert ADDRESS_PAUSED in response.content.decode()
    assert signed_in_as(client) is None
    # ...and only from there.
    other = Client()
    assert sign_in(other, url, user.email, password, address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_does_not_clear_the_addresss_count(client, alice, password, settings):
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "IP_FAILURES": 6}
    for n in range(5):
        sign_in(client, "/login/", f"someone{n}@example.test", "wrong")
    assert sign_in(client, "/login/", alice.email, password).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, "/login/", "someone-else@example.test", "wrong")
    assert ADDRESS_PAUSED in sign_in(client, "/login/", alice.email, password).content.decode()


def spray_through_proxy(client: Client, forwarded: str, count: int) -> None:
    for n in range(count):
        client.post(
            "/login/",
            {"username": f"someone{n}@example.test", "password": "wrong"},
            REMOTE_ADDR="10.0.0.254",
            HTTP_X_FORWARDED_FOR=forwarded,
        )


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(
    client, alice, password, settings
):
    settings.TRUST_PROXY_HEADERS = True
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "IP_FAILURES": 4}
    # A visitor writing their own X-Forwarded-For gets the proxy's entry appended after it.
    spray_through_proxy(client, "1.2.3.4, 198.51.100.7", 4)
    paused = client.post(
        "/login/",
        {"username": alice.email, "password": password},
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="5.6.7.8, 198.51.100.7",
    )
    assert ADDRESS_PAUSED in paused.content.decode()
    # Another visitor through the same proxy is not paused.
    other = Client()
    response = other.post(
        "/login/",
        {"username": alice.email, "password": password},
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert response.status_code == 302


def test_without_trusted_proxy_headers_x_forwarded_for_is_ignored(
    client, alice, password, settings
):
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "IP_FAILURES": 4}
    # A different made-up address on each try still counts against the connection's address.
    for n in range(4):
        client.post(
            "/login/",
            {"username": f"someone{n}@example.test", "password": "wrong"},
            REMOTE_ADDR="10.0.0.9",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = sign_in(client, "/login/", alice.email, password, address="10.0.0.9")
    assert ADDRESS_PAUSED in response.content.decode()


@pytest.mark.parametrize(
    "username", ["", "   ", "a" * 5000, "alice@example.test\x00", "<script>alert(1)</script>"]
)
def test_odd_logins_are_counted_and_answered_without_an_error(client, username, settings):
    for _ in range(settings.LOGIN_THROTTLE["FAILURES"] + 1):
        for url in ("/login/", "/admin/login/"):
            response = sign_in(client, url, username, "x")
            assert response.status_code == 200
            assert "<script>alert(1)</script>" not in response.content.decode()


# Production settings


def production_env() -> dict[str, str]:
    # Only what a production host sets: nothing of the test run's own environment (DEBUG,
    # TESTING, DJANGO_ALLOW_ASYNC_UNSAFE from the browser tests…) leaks into it.
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "DATABASE_URL"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="refunds.example.com",
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(BASE_DIR),
    )
    return env


def run(*args: str) -> subprocess.CompletedProcess:
    return run_with({}, *args)


def run_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**production_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = run("manage.py", "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
    "SECURE_PROXY_SSL_HEADER",
]
client = Client(HTTP_HOST="refunds.example.com")
forwarded = client.get("/api/v1/openapi.json", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/api/v1/openapi.json")
secure = client.get("/api/v1/openapi.json", secure=True)
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "http": [plain.status_code, plain.get("Location")],
    "forwarded": forwarded.status_code,
    "https": [secure.status_code, {k: v for k, v in secure.headers.items()}],
}))
"""


def test_production_settings_keep_sessions_and_cookies_on_https_only():
    result = run("-c", PROBE)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        # Without TRUST_PROXY_HEADERS a visitor's X-Forwarded-Proto is not believed.
        "SECURE_PROXY_SSL_HEADER": None,
    }
    assert seen["forwarded"] == 301
    # Plain HTTP is sent to HTTPS; over HTTPS the browser is told to stay there.
    assert seen["http"] == [301, "https://refunds.example.com/api/v1/openapi.json"]
    status, headers = seen["https"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_behind_a_trusted_proxy_its_x_forwarded_proto_is_believed():
    result = run_with({"TRUST_PROXY_HEADERS": "1"}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["settings"]["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["forwarded"] == 200


def test_hsts_takes_secure_hsts_seconds_when_set():
    result = run_with({"SECURE_HSTS_SECONDS": "600"}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["https"][1]["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_malformed_cache_url_stops_the_start():
    env = {**production_env(), "CACHE_URL": "memcached://somewhere"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CACHE_URL must be locmem://, db://<table> or redis://<host>:<port>" in result.stderr


REDIS_CACHE_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/14")


def production_cache_url(name: str) -> str:
    """The shared cache under test: the database's (the production default) or Redis."""
    if name == "db":
        return "db://django_cache"
    import redis

    try:
        redis.from_url(REDIS_CACHE_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {REDIS_CACHE_URL} ({error})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)
    return REDIS_CACHE_URL


@pytest.mark.parametrize("cache_name", ["db", "redis"])
def test_the_sign_in_throttle_is_shared_between_processes(tmp_path, cache_name):
    # Two processes, one cache: failures counted by one pause the other, for one login and,
    # after logins sprayed from one address, for every login from there.
    probe = """
import sys
import django
django.setup()
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import RequestFactory
from accounts.forms import LoginThrottle

call_command("createcachetable", verbosity=0)
request = RequestFactory().post("/login/", REMOTE_ADDR="192.0.2.10")
action = sys.argv[1]
if action == "clear":
    cache.clear()
elif action == "fail":
    for _ in range(settings.LOGIN_THROTTLE["FAILURES"]):
        LoginThrottle(request, "alice@example.test").failed()
elif action == "spray":
    for n in range(settings.LOGIN_THROTTLE["IP_FAILURES"]):
        LoginThrottle(request, f"pro{n}@example.test").failed()
login = LoginThrottle(request, sys.argv[2])
print("paused" if login.paused() else "open")
"""
    env = {
        **production_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        "LOGIN_THROTTLE_IP_FAILURES": "10",
    }
    if cache_name == "redis":
        env["CACHE_URL"] = production_cache_url(cache_name)
    else:
        env.pop("CACHE_URL", None)  # the production default is the database's cache

    def process(action: str, login: str = "alice@example.test") -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe, action, login],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert process("clear") == "open"
    assert process("fail") == "paused"
    assert process("look") == "paused"
    assert process("look", "bob@example.test") == "open"
    assert process("spray", "bob@example.test") == "paused"
    assert process("look", "carol@example.test") == "paused"
    process("clear")
