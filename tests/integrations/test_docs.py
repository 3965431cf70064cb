import re


def test_the_openapi_document_is_served(client, db):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads/{lead_id}/refund",
        "/api/v1/messages/{message_id}",
        "/api/v1/attempts/{attempt_id}",
    }
    assert document["components"]["securitySchemes"]["KeyAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_everything_from_this_site(client, db):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset


def test_the_docs_page_asks_no_outside_validator(client, db):
    html = client.get("/api/v1/docs").content.decode()

    assert '"validatorUrl": null' in html
