"""Read /metrics as Prometheus would: the samples of its text format."""

from __future__ import annotations

import re

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

# Long enough for settings.py's check; only ever set by the tests.
TOKEN = "metrics-token-for-the-test-suite-0123456789"


def scrape(client: Client, token: str = TOKEN):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, keyed by its name and its labels (sorted)."""
    assert response.status_code == 200, response.status_code
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def names(response) -> set[str]:
    """The metric names a query may use: each declared one (# TYPE) and each sample's."""
    assert response.status_code == 200, response.status_code
    found = set()
    for line in response.content.decode().splitlines():
        if line.startswith("# TYPE "):
            found.add(line.split()[2])
        elif line and not line.startswith("#"):
            found.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return found
