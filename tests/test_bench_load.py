"""bench/load.py's setup: the accounts it writes sign in, report and call the API as the
load test will. (The load itself runs against a live server; see bench/README.md.)"""

import ast
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.load_setup import KEY_NAME, REVIEWERS, setup
from integrations.models import ApiKey
from leads.models import Lead

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def test_without_a_data_set_it_says_what_to_run(tmp_path, capsys):
    assert setup(tmp_path / "accounts.json", "pw") == 1
    assert "generate_load" in capsys.readouterr().out
    assert not (tmp_path / "accounts.json").exists()


def test_the_accounts_it_writes_work_against_the_site(tmp_path, client):
    call_command("generate_load", leads=500, seed=3, quiet=True, stdout=StringIO())
    path = tmp_path / "accounts.json"

    assert setup(path, "load-password-123") == 0

    data = json.loads(path.read_text())
    assert len(data["reviewers"]) == REVIEWERS
    assert data["pros"] and data["categories"]
    pro = data["pros"][0]
    for lead_id in pro["reportable"]:
        lead = Lead.objects.get(pk=lead_id)
        assert lead.pro.email == pro["email"]
        assert not hasattr(lead, "refund_request")

    signed_in = client.post("/login/", {"username": pro["email"], "password": data["password"]})
    assert signed_in.status_code == 302
    lead_id = pro["reportable"][0]
    report = client.post(f"/messages/{lead_id}/report/", {"reason": "spam", "details": "x"})
    assert report.status_code == 302 and report.url == f"/messages/{lead_id}/"
    client.logout()
    reviewer = client.post(
        "/login/", {"username": data["reviewers"][0], "password": data["password"]}
    )
    assert reviewer.status_code == 302
    assert client.get("/admin/refunds/refundrequest/").status_code == 200
    client.logout()

    body = {
        "pro_id": pro["pro_id"],
        "customer_name": "Load Customer",
        "category": data["categories"][0],
        "location": "Austin, TX 78704",
        "price": "20.00",
        "payment_method": "balance",
        "received_at": "2026-01-15T14:05:00Z",
    }
    auth = {"HTTP_AUTHORIZATION": f"Bearer {data['api_key']}"}
    put = client.put("/api/v1/leads/load-api-test", body, content_type="application/json", **auth)
    assert put.status_code == 201, put.content

    # Run again: a new key, the old one revoked.
    assert setup(path, "load-password-123") == 0
    assert json.loads(path.read_text())["api_key"] != data["api_key"]
    assert ApiKey.objects.filter(name=KEY_NAME, revoked_at__isnull=True).count() == 1
    again = client.put("/api/v1/leads/load-api-test", body, content_type="application/json", **auth)
    assert again.status_code == 401


def test_the_locustfile_has_the_three_kinds_of_visitor():
    tree = ast.parse((ROOT / "bench" / "load.py").read_text())
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    assert {"Pro", "Reviewer", "Api"} <= classes
