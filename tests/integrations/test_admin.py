from integrations.choices import Scope
from integrations.models import ApiKey, ProLink, hash_key

ADD_URL = "/admin/integrations/apikey/add/"
LIST_URL = "/admin/integrations/apikey/"


def test_creating_a_key_shows_the_secret_once(client_for, root):
    client = client_for(root)

    response = client.post(
        ADD_URL, {"name": "Telephony", "scopes": [Scope.ATTEMPTS_WRITE, Scope.STATUS_READ]}
    )

    assert response.status_code == 200
    raw = response.context["raw_key"]
    key = ApiKey.objects.get()
    assert key.key_hash == hash_key(raw)
    assert key.scopes == ["attempts:write", "status:read"]
    assert key.created_by == root
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Nowhere else: not on the list, not on the key's own page.
    assert raw not in client.get(LIST_URL).content.decode()
    assert raw not in client.get(f"{LIST_URL}{key.pk}/change/").content.decode()


def test_a_key_needs_at_least_one_scope(client_for, root):
    response = client_for(root).post(ADD_URL, {"name": "Telephony"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"]
    assert not ApiKey.objects.exists()


def test_revoking_keys_from_the_list(client_for, root, issue_key):
    issue_key(Scope.LEADS_WRITE)
    key = ApiKey.objects.get()

    response = client_for(root).post(
        LIST_URL, {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    assert "Revoked 1 API key." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_revoked_key_cannot_be_edited_or_deleted(client_for, root, issue_key):
    issue_key(Scope.LEADS_WRITE)
    key = ApiKey.objects.get()
    key.revoke()
    client = client_for(root)

    client.post(f"{LIST_URL}{key.pk}/change/", {"name": "Back again", "scopes": ["leads:write"]})

    key.refresh_from_db()
    assert key.name == "Marketplace"
    assert client.get(f"{LIST_URL}{key.pk}/delete/").status_code == 403


def test_an_active_keys_scopes_can_be_changed(client_for, root, issue_key):
    issue_key(Scope.LEADS_WRITE)
    key = ApiKey.objects.get()

    response = client_for(root).post(
        f"{LIST_URL}{key.pk}/change/",
        {"name": "Marketplace", "scopes": [Scope.STATUS_READ, Scope.LEADS_WRITE]},
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.scopes == ["leads:write", "status:read"]


def test_the_list_filters_revoked_keys(client_for, root, issue_key):
    issue_key(Scope.LEADS_WRITE, name="Old feed")
    issue_key(Scope.LEADS_WRITE, name="New feed")
    ApiKey.objects.get(name="Old feed").revoke()

    response = client_for(root).get(LIST_URL, {"state": "active"})

    assert [k.name for k in response.context["cl"].result_list] == ["New feed"]


def test_reviewers_cannot_manage_keys(client_for, rita):
    assert client_for(rita).get(ADD_URL).status_code == 403


def test_linking_a_pro_in_the_admin(client_for, root, alice):
    response = client_for(root).post(
        "/admin/integrations/prolink/add/", {"pro": alice.pk, "marketplace_pro_id": "mp-alice"}
    )

    assert response.status_code == 302
    assert ProLink.objects.get(marketplace_pro_id="mp-alice").pro == alice


def test_only_pros_can_be_linked(client_for, root, rita):
    response = client_for(root).post(
        "/admin/integrations/prolink/add/", {"pro": rita.pk, "marketplace_pro_id": "mp-rita"}
    )

    assert response.status_code == 200
    assert not ProLink.objects.exists()
