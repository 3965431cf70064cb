import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.models import ProLink
from leads.models import ContactAttempt, Lead, Message
from tests.factories import RefundRequestFactory

SAMPLE = Path(settings.BASE_DIR) / "integrations" / "samples" / "leads.jsonl"


@pytest.fixture
def jsonl(tmp_path):
    """jsonl(record, "raw text", ...) → the path of a file with one line per argument."""

    def write(*lines) -> Path:
        path = tmp_path / "leads.jsonl"
        path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
        return path

    return write


def run(path, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_leads", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_refused(path, *args) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_leads", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), refused.value


@pytest.fixture
def records(lead_body):
    lead = {"type": "lead", "id": "L-1"} | lead_body
    message = {
        "type": "message",
        "id": "M-1",
        "lead_id": "L-1",
        "sender": "customer",
        "body": "Hello?",
        "sent_at": lead_body["received_at"],
    }
    attempt = {
        "type": "attempt",
        "id": "C-1",
        "lead_id": "L-1",
        "channel": "phone",
        "outcome": "voicemail",
        "attempted_at": lead_body["received_at"],
        "source": "telephony",
    }
    return lead, message, attempt


def test_it_imports_leads_messages_and_attempts(jsonl, records):
    out, err = run(jsonl(*records))

    assert "3 created, 0 updated, 0 unchanged, 0 rejected" in out
    lead = Lead.objects.get(marketplace_id="L-1")
    assert lead.customer_phone == "+15125550199"
    assert Message.objects.get(marketplace_id="M-1").lead == lead
    assert ContactAttempt.objects.get(marketplace_id="C-1").lead == lead
    assert "100%" in err


def test_importing_again_changes_nothing(jsonl, records):
    path = jsonl(*records)
    run(path)
    before = list(Lead.objects.values())

    out, _ = run(path)

    assert "0 created, 0 updated, 3 unchanged, 0 rejected" in out
    assert list(Lead.objects.values()) == before


def test_it_counts_updates(jsonl, records):
    lead, message, attempt = records
    run(jsonl(lead))

    out, _ = run(jsonl(lead | {"location": "Austin, TX 78702"}, message))

    assert "1 created, 1 updated, 0 unchanged, 0 rejected" in out


def test_it_rejects_bad_lines_by_number_and_keeps_the_rest(jsonl, records):
    lead, message, attempt = records
    path = jsonl(
        lead,
        "",
        "{oops",
        lead | {"id": "L-2", "price": "-3", "category": "nope"},
        message | {"lead_id": "L-404"},
        {"type": "invoice", "id": "X-1"},
        ["not", "an", "object"],
        attempt,
    )

    out, _, refused = run_refused(path)

    assert "2 created, 0 updated, 0 unchanged, 5 rejected" in out
    assert "line 3: not a JSON object" in out
    assert "line 4: lead L-2: price: Input should be greater than or equal to 0" in out
    assert "line 5: message M-1: lead_id: No lead has this marketplace id" in out
    assert "line 6: invoice X-1: type: must be one of lead, message, attempt" in out
    assert "line 7: each line must be a JSON object" in out
    assert str(refused) == "5 lines rejected"
    assert set(Lead.objects.values_list("marketplace_id", flat=True)) == {"L-1"}
    assert ContactAttempt.objects.filter(marketplace_id="C-1").exists()


def test_it_lists_every_error_of_a_line(jsonl, records):
    lead, _, _ = records
    broken = lead | {"id": "bad id!", "price": "free", "payment_method": "iou"}

    out, _, _ = run_refused(jsonl(broken))

    assert "id: must be letters" in out
    assert "price:" in out
    assert "payment_method:" in out


def test_it_refuses_conflicting_changes_like_the_api(jsonl, records):
    lead, _, _ = records
    run(jsonl(lead))
    RefundRequestFactory(lead=Lead.objects.get(marketplace_id="L-1"))

    out, _, _ = run_refused(jsonl(lead | {"price": "1.00"}))

    assert "line 1: lead L-1: The pro has asked for a refund of this lead" in out
    assert Lead.objects.get(marketplace_id="L-1").price == Decimal("24.50")


def test_it_refuses_overlong_lines(jsonl, records):
    lead, _, _ = records

    out, _, _ = run_refused(jsonl(lead | {"request_text": "x" * 70_000}))

    assert "line 1: longer than 65536 bytes" in out


def test_a_dry_run_stores_nothing(jsonl, records, bob):
    lead, message, attempt = records
    bobs = lead | {"id": "L-2", "pro_id": "mp-bob", "pro_email": "bob@example.test"}

    out, _ = run(jsonl(lead, bobs, message, attempt), "--dry-run")

    assert "4 created, 0 updated, 0 unchanged, 0 rejected" in out
    assert "Dry run: nothing was stored." in out
    assert not Lead.objects.exists()
    assert not Message.objects.exists()
    assert not ContactAttempt.objects.exists()
    assert not ProLink.objects.filter(pro=bob).exists()


def test_a_dry_run_reports_rejections_too(jsonl, records):
    lead, message, _ = records

    out, _, _ = run_refused(jsonl(message, lead), "--dry-run")

    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert "line 1: message M-1: lead_id" in out
    assert not Lead.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_leads", str(tmp_path / "missing.jsonl"))


def test_the_sample_file_imports_cleanly_into_the_demo_data(db):
    call_command("seed_demo", stdout=StringIO())

    out, _ = run(SAMPLE)
    again, _ = run(SAMPLE)

    lines = len(SAMPLE.read_text().splitlines())
    assert f"{lines} created, 0 updated, 0 unchanged, 0 rejected" in out
    assert f"0 created, 0 updated, {lines} unchanged, 0 rejected" in again
    invalid = Lead.objects.get(marketplace_id="mp-lead-9003")
    assert (invalid.phone_valid, invalid.email_valid) == (False, False)
    assert Lead.objects.get(marketplace_id="mp-lead-9004").pro.email == "pro2@demo.test"
