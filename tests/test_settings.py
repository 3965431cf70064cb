"""Settings come from the environment and refuse bad values at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_decimal, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent


def start(**env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter, as a production process would."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "SECRET_KEY"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = start(ALLOWED_HOSTS="refunds.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_in_production_with_a_secret_key_and_hosts():
    result = start(SECRET_KEY="x" * 50, ALLOWED_HOSTS="refunds.example.com")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_it_refuses_production_without_allowed_hosts():
    result = start(SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_it_uses_a_development_key_only_with_debug():
    result = start(DEBUG="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/x"}, "SQLite or PostgreSQL"),
        ({"DEBUG": "1", "DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DEBUG": "1", "Q_TIMEOUT": "60", "Q_RETRY": "30"}, "Q_RETRY must be"),
        ({"DEBUG": "1", "WEBHOOK_TIMEOUT_SECONDS": "60"}, "less than Q_TIMEOUT"),
        ({"DEBUG": "1", "REFUND_REPORT_WINDOW_DAYS": "two weeks"}, "whole number"),
        ({"DEBUG": "1", "REFUND_REPORT_WINDOW_DAYS": "0"}, "at least 1"),
        ({"DEBUG": "1", "REFUND_PEER_MEDIAN_MULTIPLIER": "-1"}, "at least 0"),
        ({"DEBUG": "1", "REFUND_PEER_PERCENTILE": "150"}, "between 1 and 100"),
        ({"DEBUG": "1", "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole number"),
        ({"DEBUG": "1", "LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of json, text"),
        ({"DEBUG": "1", "TRUST_PROXY_HEADERS": "maybe"}, "TRUST_PROXY_HEADERS must be true"),
        (
            {
                "SECRET_KEY": "x" * 50,
                "ALLOWED_HOSTS": "refunds.example.com",
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            },
            "the console backend writes whole emails to the logs",
        ),
        ({"DEBUG": "1", "HEALTH_WORKER_STALE_SECONDS": "30"}, "at least 90"),
        ({"DEBUG": "1", "METRICS_TOKEN": "secret"}, "METRICS_TOKEN must be at least 24"),
    ],
)
def test_it_refuses_bad_values(env, message):
    result = start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def setting(name: str, **env: str) -> str:
    """A setting's value in a fresh process started with `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "EMAIL_BACKEND"}}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); from django.conf import settings; "
            f"print(settings.{name})",
        ],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_sends_email_through_smtp_and_development_prints_it():
    production = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "refunds.example.com"}
    assert setting("EMAIL_BACKEND", **production) == "django.core.mail.backends.smtp.EmailBackend"
    assert setting("EMAIL_BACKEND", DEBUG="1") == "django.core.mail.backends.console.EmailBackend"


def test_it_reads_postgresql_from_database_url():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/refunds",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Django's PostgreSQL backend, wrapped by django-prometheus to count the queries.
    assert result.stdout.split() == ["django_prometheus.db.backends.postgresql", "refunds"], (
        result.stderr
    )


def test_env_helpers_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("COUNT", "12")
    assert env_int("COUNT", 1) == 12
    monkeypatch.setenv("COUNT", "-3")
    with pytest.raises(ImproperlyConfigured):
        env_int("COUNT", 1)
    monkeypatch.setenv("RATE", "NaN")
    with pytest.raises(ImproperlyConfigured):
        env_decimal("RATE", "2")
    monkeypatch.setenv("HOSTS", " a.example , ,b.example ")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_tests_run_the_queue_synchronously(settings):
    assert settings.Q_CLUSTER["sync"] is True
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]
    assert settings.TIME_ZONE == "UTC" and settings.USE_TZ


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("amqp://guest@127.0.0.1:5672//", "Q_BROKER_URL must be a Redis URL"),
        ("127.0.0.1:6379", "Q_BROKER_URL must be a Redis URL"),
        ("redis://", "Q_BROKER_URL must be a Redis URL"),
        ("redis://127.0.0.1:port/0", "Q_BROKER_URL must be a Redis URL"),
        ("redis://127.0.0.1:6379/queue", "the Redis database must be a number"),
    ],
)
def test_it_refuses_a_broker_url_that_is_not_redis(url, message):
    result = start(DEBUG="1", Q_BROKER_URL=url)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_a_broker_url_error_does_not_show_its_password():
    result = start(DEBUG="1", Q_BROKER_URL="amqp://worker:s3cret@mq.example:5672/")
    assert "Q_BROKER_URL must be a Redis URL" in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("url", "broker"),
    [
        ("", "django_q.brokers.orm.ORM"),
        ("redis://:pw@127.0.0.1:6379/3", "django_q.brokers.redis_broker.Redis"),
        ("rediss://redis.example:6380", "django_q.brokers.redis_broker.Redis"),
    ],
)
def test_q_broker_url_picks_the_workers_broker(url, broker):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "from django_q.brokers import get_broker; b = get_broker(); "
            "print(type(b).__module__ + '.' + type(b).__name__); "
            "print(settings.Q_CLUSTER.get('orm'), settings.Q_CLUSTER.get('redis'))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "Q_BROKER_URL": url,
            # Which broker is chosen, not whether a database is there: the ORM broker connects.
            "DATABASE_URL": "sqlite:///:memory:",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found, conf = result.stdout.splitlines()
    assert found == broker
    assert conf == ("default None" if not url else f"None {url}")


def site_url(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "TESTING", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS"}
    }
    clean.update({"SECRET_KEY": "x" * 50, **env})
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ALLOWED_HOSTS": "refunds.example.com,www.example.com"}, "https://refunds.example.com"),
        (
            {"ALLOWED_HOSTS": ".example.com", "SITE_URL": "https://refunds.example.com/"},
            "https://refunds.example.com",
        ),
        ({"DEBUG": "1"}, "http://127.0.0.1:8000"),
    ],
)
def test_emails_link_to_the_site_url(env, expected):
    result = site_url(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"ALLOWED_HOSTS": ".example.com"}, "SITE_URL must be set"),
        ({"ALLOWED_HOSTS": "refunds.example.com", "SITE_URL": "refunds.example.com"}, "http(s)"),
    ],
)
def test_it_refuses_a_site_url_emails_could_not_link_with(env, error):
    result = site_url(**env)
    assert result.returncode != 0
    assert error in result.stderr
