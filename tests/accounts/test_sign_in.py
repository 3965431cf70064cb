"""The login page, and where each role lands after signing in."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_home_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/login/"


def test_the_login_page_asks_for_email_and_password(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Email address" in response.content
    assert b"Password" in response.content


def test_a_wrong_password_is_refused_on_the_page(client, alice):
    response = client.post("/login/", {"username": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct email address and password" in response.content


def test_staff_land_in_the_back_office(client, rita, password):
    response = client.post("/login/", {"username": rita.email, "password": password})
    assert response.status_code == 302
    assert client.get("/").url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_pros_land_on_their_messages_and_never_reach_the_admin(client, alice, password):
    response = client.post("/login/", {"username": alice.email, "password": password})
    assert response.status_code == 302
    assert client.get("/").url == "/messages/"
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
