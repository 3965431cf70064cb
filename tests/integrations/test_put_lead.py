import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.ingest import MAX_BODY_BYTES
from integrations.models import ProLink
from leads.models import Lead
from tests.factories import LeadFactory, RefundRequestFactory
from tests.integrations.conftest import iso


def test_it_creates_a_lead(api, lead_body, alice):
    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 201
    body = response.json()
    assert body["result"] == "created"
    lead = Lead.objects.get(marketplace_id="L-1")
    assert lead.pro == alice
    assert lead.category.slug == "plumbing"
    assert lead.price == Decimal("24.50")
    assert lead.received_at.isoformat() == lead_body["received_at"]
    assert body["price"] == "24.50"
    assert body["pro_id"] == "mp-alice"


def test_it_stores_phone_and_email_normalised(api, lead_body):
    body = api.put("/leads/L-1", lead_body).json()

    lead = Lead.objects.get(marketplace_id="L-1")
    assert (lead.customer_phone, lead.phone_valid) == ("+15125550199", True)
    assert (lead.customer_email, lead.email_valid) == ("dana.whitaker@example.com", True)
    assert body["customer_phone"] == "+15125550199"
    assert body["phone_valid"] is True


def test_it_keeps_invalid_contact_details_as_sent_and_flags_them(api, lead_body):
    lead_body |= {"customer_phone": "555-01", "customer_email": "Dana at example"}

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 201
    lead = Lead.objects.get(marketplace_id="L-1")
    assert (lead.customer_phone, lead.phone_valid) == ("555-01", False)
    assert (lead.customer_email, lead.email_valid) == ("dana at example", False)


def test_it_records_no_validity_without_contact_details(api, lead_body):
    lead_body |= {"customer_phone": None, "customer_email": ""}

    api.put("/leads/L-1", lead_body)

    lead = Lead.objects.get(marketplace_id="L-1")
    assert (lead.customer_phone, lead.phone_valid) == ("", None)
    assert (lead.customer_email, lead.email_valid) == ("", None)


def test_replaying_the_same_body_changes_nothing(api, lead_body):
    api.put("/leads/L-1", lead_body)
    before = Lead.objects.values().get(marketplace_id="L-1")

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"
    assert response.json()["changed"] == []
    assert Lead.objects.values().get(marketplace_id="L-1") == before
    assert Lead.objects.count() == 1


def test_the_same_values_written_differently_are_unchanged(api, lead_body):
    api.put("/leads/L-1", lead_body)
    received = Lead.objects.get(marketplace_id="L-1").received_at
    lead_body |= {
        "customer_phone": "+1 512 555 0199",
        "customer_email": "dana.whitaker@example.com",
        "price": 24.5,
        "received_at": received.astimezone(timezone.get_fixed_timezone(-300)).isoformat(),
    }

    response = api.put("/leads/L-1", lead_body)

    assert response.json()["result"] == "unchanged"


def test_a_different_body_updates_only_what_changed(api, lead_body):
    api.put("/leads/L-1", lead_body)
    lead_body |= {"location": "Austin, TX 78702", "price": "30.00"}

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 200
    assert response.json()["result"] == "updated"
    assert sorted(response.json()["changed"]) == ["location", "price"]
    lead = Lead.objects.get(marketplace_id="L-1")
    assert lead.location == "Austin, TX 78702"
    assert lead.price == Decimal("30.00")


def test_a_category_change_is_named_by_its_api_field(api, lead_body, roofing):
    api.put("/leads/L-1", lead_body)

    response = api.put("/leads/L-1", lead_body | {"category": "roofing"})

    assert response.json()["changed"] == ["category"]
    assert Lead.objects.get(marketplace_id="L-1").category == roofing


@pytest.mark.parametrize(
    "change",
    [
        {"price": "99.00"},
        {"received_at": iso(timezone.now() - timedelta(days=2))},
        {"payment_method": "card"},
    ],
)
def test_money_facts_are_frozen_once_a_refund_is_requested(api, lead_body, change):
    api.put("/leads/L-1", lead_body)
    lead = Lead.objects.get(marketplace_id="L-1")
    RefundRequestFactory(lead=lead)
    before = Lead.objects.values().get(pk=lead.pk)

    response = api.put("/leads/L-1", lead_body | change | {"location": "Somewhere else"})

    assert response.status_code == 409
    assert "refund" in response.json()["detail"]
    assert response.json()["fields"] == list(change)
    assert Lead.objects.values().get(pk=lead.pk) == before


def test_other_fields_still_change_after_a_refund_request(api, lead_body):
    api.put("/leads/L-1", lead_body)
    RefundRequestFactory(lead=Lead.objects.get(marketplace_id="L-1"))

    response = api.put("/leads/L-1", lead_body | {"customer_name": "Dana W. Whitaker"})

    assert response.status_code == 200
    assert response.json()["changed"] == ["customer_name"]


def test_replay_after_a_refund_request_is_unchanged(api, lead_body):
    api.put("/leads/L-1", lead_body)
    RefundRequestFactory(lead=Lead.objects.get(marketplace_id="L-1"))

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 200
    assert response.json()["result"] == "unchanged"


def test_a_lead_never_moves_to_another_pro(api, lead_body, bob):
    api.put("/leads/L-1", lead_body)
    ProLink.objects.create(pro=bob, marketplace_pro_id="mp-bob")

    response = api.put("/leads/L-1", lead_body | {"pro_id": "mp-bob"})

    assert response.status_code == 409
    assert response.json()["fields"] == ["pro_id"]
    assert Lead.objects.get(marketplace_id="L-1").pro.email == "alice@example.test"


def test_it_lists_every_invalid_field(api, lead_body):
    lead_body |= {
        "customer_name": "  ",
        "price": "-1",
        "payment_method": "cash",
        "received_at": "yesterday",
        "unexpected": 1,
    }
    del lead_body["location"]

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 422
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == [
        "customer_name",
        "location",
        "payment_method",
        "price",
        "received_at",
        "unexpected",
    ]
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("received_at", "message"),
    [
        ("2026-01-15T14:05:00", "timezone"),
        ("1999-12-31T23:00:00Z", "2000"),
        (iso(timezone.now() + timedelta(days=1)), "future"),
    ],
)
def test_it_refuses_implausible_receipt_times(api, lead_body, received_at, message):
    response = api.put("/leads/L-1", lead_body | {"received_at": received_at})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "received_at"
    assert message in error["message"]


def test_it_refuses_text_the_database_cannot_store(api, lead_body):
    response = api.put("/leads/L-1", lead_body | {"customer_name": "Dana\x00"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_name"


def test_it_refuses_an_id_with_odd_characters(api, lead_body):
    response = api.put("/leads/-L%20one", lead_body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lead_id"


def test_it_refuses_a_body_that_is_not_json(api):
    response = api.put("/leads/L-1", "{not json")

    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_it_refuses_a_body_that_is_not_an_object(api, lead_body):
    response = api.put("/leads/L-1", [lead_body])

    assert response.status_code == 422


def test_it_refuses_an_oversized_body(api, lead_body):
    lead_body["request_text"] = "x" * (MAX_BODY_BYTES + 1)

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 413
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""],
)
def test_it_refuses_a_body_not_sent_as_json_with_415(client, key, lead_body, content_type):
    response = client.put(
        "/api/v1/leads/L-1",
        data=json.dumps(lead_body),
        content_type=content_type,
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 415
    assert response.json()["detail"] == (
        "Send the body as JSON, with Content-Type: application/json."
    )
    assert not Lead.objects.exists()


def test_json_with_a_charset_is_json(client, key, lead_body):
    response = client.put(
        "/api/v1/leads/L-1",
        data=json.dumps(lead_body),
        content_type="application/json; charset=utf-8",
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 201


def test_it_refuses_an_unknown_category_and_stores_nothing(api, lead_body):
    response = api.put("/leads/L-1", lead_body | {"category": "chimney-sweeping"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "category",
            "message": "No service category has the slug 'chimney-sweeping'.",
        }
    ]
    assert not Lead.objects.exists()


def test_it_refuses_an_unknown_pro_and_stores_nothing(api, lead_body):
    response = api.put("/leads/L-1", lead_body | {"pro_id": "mp-nobody", "category": "nope"})

    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == ["category", "pro_id"]
    assert not Lead.objects.exists()


def test_it_links_a_new_pro_id_by_the_pros_email(api, lead_body, bob):
    response = api.put(
        "/leads/L-1", lead_body | {"pro_id": "mp-bob", "pro_email": "BOB@example.test"}
    )

    assert response.status_code == 201
    assert ProLink.objects.get(marketplace_pro_id="mp-bob").pro == bob
    assert Lead.objects.get(marketplace_id="L-1").pro == bob


def test_once_linked_the_id_alone_finds_the_pro(api, lead_body, alice):
    response = api.put("/leads/L-1", lead_body | {"pro_email": "someone-else@example.test"})

    assert response.status_code == 201
    assert Lead.objects.get(marketplace_id="L-1").pro == alice


def test_it_refuses_an_email_that_is_not_a_pro(api, lead_body, rita):
    response = api.put(
        "/leads/L-1", lead_body | {"pro_id": "mp-rita", "pro_email": "rita@example.test"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pro_email"
    assert not ProLink.objects.filter(marketplace_pro_id="mp-rita").exists()


def test_it_refuses_to_link_a_pro_twice(api, lead_body, alice):
    response = api.put(
        "/leads/L-1", lead_body | {"pro_id": "mp-alice-2", "pro_email": "alice@example.test"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pro_email"


def test_a_refused_lead_does_not_keep_a_new_link(api, lead_body, bob):
    response = api.put(
        "/leads/L-1",
        lead_body | {"pro_id": "mp-bob", "pro_email": "bob@example.test", "category": "nope"},
    )

    assert response.status_code == 422
    assert not ProLink.objects.filter(pro=bob).exists()


def test_a_lead_entered_before_the_api_is_updated_in_place(api, lead_body, alice, plumbing):
    LeadFactory(marketplace_id="L-1", pro=alice, category=plumbing, customer_phone="512 555 0199")

    response = api.put("/leads/L-1", lead_body)

    assert response.status_code == 200
    assert "customer_phone" in response.json()["changed"]
    assert Lead.objects.get(marketplace_id="L-1").customer_phone == "+15125550199"


def test_the_body_is_json_with_every_field(api, lead_body):
    body = api.put("/leads/L-1", lead_body).json()

    assert json.loads(json.dumps(body)) == body
    assert set(body) >= set(lead_body) - {"pro_email"}
