"""deploy/prometheus/alerts.yml: every alert reads metrics that /metrics really serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.ops.scrape import names, scrape

pytestmark = pytest.mark.django_db

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
# PromQL's words that are not metric names (functions are told apart by their parenthesis).
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: what is left once strings, label matchers, ranges,
    grouping clauses, functions, keywords and numbers are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    found = set()
    for match in NAME.finditer(expr):
        word = match.group()
        is_function = expr[match.end() :].lstrip().startswith("(")
        preceded_by_digit = match.start() > 0 and expr[match.start() - 1].isdigit()
        if not (is_function or preceded_by_digit or word in KEYWORDS):
            found.add(word)
    return found


def rules() -> list[dict]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_expression_reader_finds_the_metric_names():
    assert metric_names(
        'sum by (view) (rate(a_total{status=~"5.."}[5m])) / on(view) b > 0.5 and absent(c)'
    ) == {"a_total", "b", "c"}
    assert metric_names("x_seconds > 20 * 3600") == {"x_seconds"}
    assert metric_names("rate(y[1h] offset 5m) > 1e3") == {"y"}


def test_the_team_starts_with_these_alerts():
    assert {rule["alert"] for rule in rules()} == {
        "RefundRequestsOverdue",
        "RefundRequestWaitingTooLong",
        "RefundWorkerHeartbeatStale",
        "RefundCreditsNeedPerson",
        "RefundsHttpErrors",
        "RefundsMetricsMissing",
    }
    for rule in rules():
        assert rule["labels"]["severity"] in {"page", "warn"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    overdue = next(r for r in rules() if r["alert"] == "RefundRequestsOverdue")
    assert (overdue["expr"], overdue["for"]) == ("refunds_overdue_requests > 0", "15m")


def test_every_metric_an_alert_reads_is_served(client, metrics_token):
    served = names(scrape(client))
    assert "refunds_overdue_request" not in served  # a misspelt name would be caught
    for rule in rules():
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= served, (rule["alert"], sorted(used - served))
