"""Logs: JSON lines in production, text with DEBUG, LOG_FORMAT either way; every line with the
request id, which a trusted proxy may give, and which the response sends back."""

import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.urls import reverse

from config.logs import HEADER

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "refunds.example.com"}
PROBE = """
import logging
import django
django.setup()
from config.logs import bound
with bound("probe-request-1"):
    logging.getLogger("probe").warning("hello %s", "world")
logging.getLogger("probe").info("outside any request")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("probe").exception("it broke")
"""
TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING probe \[probe-request-1\] ")
NEW_ID = re.compile(r"[0-9a-f]{32}")


def log_output(**env: str) -> str:
    """What a fresh process, started with `env`, writes to its log (stderr)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "TESTING", "SECRET_KEY", "LOG_FORMAT", "LOG_LEVEL"}
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def assert_json_lines(output: str) -> list[dict]:
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["message"] for line in lines] == [
        "hello world",
        "outside any request",
        "it broke",
    ]
    return lines


def test_production_logs_one_json_object_per_line():
    hello, outside, broke = assert_json_lines(log_output(**PRODUCTION))
    assert list(hello)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert hello["level"] == "WARNING"
    assert hello["logger"] == "probe"
    assert hello["request_id"] == "probe-request-1"
    assert datetime.fromisoformat(hello["time"]).utcoffset().total_seconds() == 0
    assert outside["request_id"] is None
    assert "ZeroDivisionError" in broke["exc_info"]


def test_debug_logs_text_for_a_person():
    output = log_output(DEBUG="1")
    first = output.splitlines()[0]
    assert TEXT_LINE.match(first), first
    assert first.endswith("hello world")
    assert " [-] outside any request" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)


def test_log_format_json_overrides_debug():
    assert_json_lines(log_output(DEBUG="1", LOG_FORMAT="json"))


def test_log_format_text_overrides_production():
    first = log_output(**PRODUCTION, LOG_FORMAT="text").splitlines()[0]
    assert TEXT_LINE.match(first), first


# Requests: the id, the header, the access line


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "refunds.access"]


def test_each_response_carries_a_new_request_id(client, log_lines):
    first = client.get(reverse("login"))
    second = client.get(reverse("login"))
    assert NEW_ID.fullmatch(first[HEADER])
    assert NEW_ID.fullmatch(second[HEADER])
    assert first[HEADER] != second[HEADER]
    assert [line["request_id"] for line in access_lines(log_lines())] == [
        first[HEADER],
        second[HEADER],
    ]


def test_the_access_line_has_method_path_status_duration_and_user(client_for, alice, log_lines):
    response = client_for(alice).get(reverse("inbox") + "?q=dana@example.test")
    assert response.status_code == 200
    [line] = access_lines(log_lines())
    assert line["level"] == "INFO"
    assert line["request_id"] == response[HEADER]
    assert line["method"] == "GET"
    assert line["path"] == reverse("inbox")  # never the query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == alice.pk
    assert line["message"] == f"GET {reverse('inbox')} 200 {line['duration_ms']} ms"
    assert "dana" not in json.dumps(line)


def test_an_anonymous_request_has_no_user(client, log_lines):
    client.get(reverse("login"))
    [line] = access_lines(log_lines())
    assert line["user_id"] is None


def test_a_trusted_proxys_request_id_is_kept(client, settings, log_lines):
    settings.TRUST_PROXY_HEADERS = True
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID="edge-7f3a9c2e-0001")
    assert response[HEADER] == "edge-7f3a9c2e-0001"
    assert access_lines(log_lines())[0]["request_id"] == "edge-7f3a9c2e-0001"


def test_a_visitors_request_id_is_ignored_without_a_trusted_proxy(client, settings):
    assert settings.TRUST_PROXY_HEADERS is False  # the default
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID="chosen-by-the-visitor")
    assert NEW_ID.fullmatch(response[HEADER])


@pytest.mark.parametrize(
    "incoming",
    [
        "short",
        "x" * 65,
        "has spaces 1234",
        "line\nbreak-1234",
        "<script>alert(1)</script>",
        "ünïcode-12345",
        '{"json": "1234"}',
        "",
    ],
)
def test_a_malformed_request_id_from_the_proxy_is_replaced(client, settings, incoming):
    settings.TRUST_PROXY_HEADERS = True
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID=incoming)
    assert NEW_ID.fullmatch(response[HEADER])


def test_lines_logged_while_serving_a_request_carry_its_id_user_and_path(
    client, alice, settings, log_lines
):
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "FAILURES": 2}
    for _ in range(2):
        response = client.post(reverse("login"), {"username": alice.email, "password": "wrong"})
    [paused] = [line for line in log_lines() if line["logger"] == "accounts.forms"]
    assert paused["message"].startswith("Sign-in paused for login ")
    assert paused["request_id"] == response[HEADER]
    assert paused["path"] == reverse("login")
    assert paused["user_id"] is None
    assert alice.email not in json.dumps(paused)


def test_djangos_own_lines_carry_the_id_but_not_the_request_object(client, log_lines):
    response = client.get("/no-such-page/?email=dana@example.test")
    assert response.status_code == 404
    [not_found] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert not_found["request_id"] == response[HEADER]
    assert not_found["status_code"] == 404
    assert "request" not in not_found
    assert "dana" not in json.dumps(log_lines())


def test_an_email_address_in_any_line_is_redacted(log_lines):
    logging.getLogger("anything").error(
        "Refused: {'alice@example.test': (550, b'5.1.1 <alice@example.test> unknown')}"
    )
    [line] = log_lines()
    assert "example.test" not in line["message"]
    assert line["message"].count("[email]") == 2
