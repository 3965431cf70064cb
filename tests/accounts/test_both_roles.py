"""The admin does not make a pro staff, nor give a staff member a pro profile, unless a
superuser ticks "Allow both roles" (a person with both could decide their own requests)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.choices import Role
from accounts.models import ProProfile, User
from tests.factories import StaffFactory, UserFactory

REFUSED = "a person who is both a pro and staff could decide their own refund requests"


@pytest.fixture
def clerk(db):
    """Staff who may edit people and pro profiles, but is no superuser."""
    user = StaffFactory(email="clerk@example.test")
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["change_user", "view_user", "add_proprofile", "change_proprofile"]
        )
    )
    return user


def group(role: Role) -> Group:
    return Group.objects.get(name=role.value)


def user_page(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def user_data(user: User, *, groups=None, is_staff=None, profile=None, **extra) -> dict:
    """The user's page as submitted, with its pro profile inline (`profile`: a new one's fields)."""
    existing = ProProfile.objects.filter(user=user).first()
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "time_zone": user.time_zone,
        "is_active": "on",
        "groups": [g.pk for g in (groups if groups is not None else user.groups.all())],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "pro_profile-TOTAL_FORMS": "1",
        "pro_profile-INITIAL_FORMS": "1" if existing else "0",
        "pro_profile-MIN_NUM_FORMS": "0",
        "pro_profile-MAX_NUM_FORMS": "1",
        **extra,
    }
    if is_staff if is_staff is not None else user.is_staff:
        data["is_staff"] = "on"
    if existing:
        data.update(
            {
                "pro_profile-0-id": existing.pk,
                "pro_profile-0-user": user.pk,
                "pro_profile-0-business_name": existing.business_name,
                "pro_profile-0-market": existing.market_id,
                "pro_profile-0-service_area": existing.service_area,
            }
        )
    elif profile:
        data.update({f"pro_profile-0-{k}": v for k, v in profile.items()})
    return data


def refused(response) -> bool:
    return response.status_code == 200 and REFUSED in response.text


# Making a pro staff, on the user's page


def test_a_pro_is_not_given_a_reviewers_group(client_for, root, alice):
    response = client_for(root).post(
        user_page(alice), user_data(alice, groups=[group(Role.PRO), group(Role.REVIEWER)])
    )
    assert refused(response)
    assert set(alice.groups.values_list("name", flat=True)) == {Role.PRO.value}


def test_a_pro_is_not_let_into_the_admin(client_for, root, alice):
    response = client_for(root).post(user_page(alice), user_data(alice, is_staff=True))
    assert refused(response)
    alice.refresh_from_db()
    assert not alice.is_staff


def test_a_superuser_who_ticks_the_box_gives_both_roles(client_for, root, alice):
    client = client_for(root)
    assert 'name="allow_both_roles"' in client.get(user_page(alice)).text
    response = client.post(
        user_page(alice),
        user_data(
            alice,
            groups=[group(Role.PRO), group(Role.SUPPORT)],
            is_staff=True,
            allow_both_roles="on",
        ),
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_staff and alice.is_support and alice.is_pro


def test_the_box_is_for_superusers_only_and_a_forged_tick_is_refused(client_for, clerk, alice):
    client = client_for(clerk)
    assert 'name="allow_both_roles"' not in client.get(user_page(alice)).text
    response = client.post(
        user_page(alice),
        user_data(alice, groups=[group(Role.PRO), group(Role.REVIEWER)], allow_both_roles="on"),
    )
    assert refused(response)
    assert not alice.is_reviewer


def test_other_changes_to_a_pro_need_no_tick(client_for, root, alice):
    response = client_for(root).post(user_page(alice), user_data(alice, first_name="Alice"))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


def test_staff_is_still_given_staff_groups(client_for, root, rita):
    response = client_for(root).post(
        user_page(rita), user_data(rita, groups=[group(Role.REVIEWER), group(Role.SUPPORT)])
    )
    assert response.status_code == 302
    assert rita.is_support


# Giving staff a pro profile: on the user's page (inline) and on the pro profiles' page


def new_profile(market) -> dict:
    return {"business_name": "Rita's Repairs", "market": market.pk, "service_area": "Austin"}


def test_staff_is_not_given_a_pro_profile_on_the_users_page(client_for, root, rita, market):
    response = client_for(root).post(user_page(rita), user_data(rita, profile=new_profile(market)))
    assert refused(response)
    assert not ProProfile.objects.filter(user=rita).exists()


def test_the_profile_and_the_admins_door_given_at_once_are_refused(client_for, root, market):
    person = UserFactory(email="new@example.test")
    response = client_for(root).post(
        user_page(person), user_data(person, is_staff=True, profile=new_profile(market))
    )
    assert refused(response)
    person.refresh_from_db()
    assert not person.is_staff
    assert not ProProfile.objects.filter(user=person).exists()


def test_a_superuser_who_ticks_the_box_gives_staff_a_profile(client_for, root, rita, market):
    response = client_for(root).post(
        user_page(rita), user_data(rita, profile=new_profile(market), allow_both_roles="on")
    )
    assert response.status_code == 302
    assert ProProfile.objects.get(user=rita).business_name == "Rita's Repairs"


def test_a_non_staff_user_gets_a_profile_without_a_tick(client_for, root, market):
    person = UserFactory(email="new@example.test")
    response = client_for(root).post(
        user_page(person), user_data(person, profile=new_profile(market))
    )
    assert response.status_code == 302
    assert ProProfile.objects.filter(user=person).exists()


PROFILES = reverse("admin:accounts_proprofile_add")


def profile_data(user: User, market, **extra) -> dict:
    return {"user": user.pk, **new_profile(market), **extra}


def test_the_pro_profiles_page_refuses_a_profile_for_staff(client_for, root, rita, market):
    response = client_for(root).post(PROFILES, profile_data(rita, market))
    assert refused(response)
    assert not ProProfile.objects.filter(user=rita).exists()


def test_the_pro_profiles_page_takes_a_superusers_tick(client_for, root, rita, market):
    client = client_for(root)
    assert 'name="allow_both_roles"' in client.get(PROFILES).text
    response = client.post(PROFILES, profile_data(rita, market, allow_both_roles="on"))
    assert response.status_code == 302
    assert ProProfile.objects.filter(user=rita).exists()


def test_the_pro_profiles_page_refuses_a_forged_tick(client_for, clerk, rita, market):
    client = client_for(clerk)
    assert 'name="allow_both_roles"' not in client.get(PROFILES).text
    response = client.post(PROFILES, profile_data(rita, market, allow_both_roles="on"))
    assert refused(response)
    assert not ProProfile.objects.filter(user=rita).exists()


def test_moving_a_profile_to_a_staff_member_is_refused(client_for, root, alice, rita, market):
    profile = alice.pro_profile
    url = reverse("admin:accounts_proprofile_change", args=[profile.pk])
    response = client_for(root).post(url, profile_data(rita, market))
    assert refused(response)
    profile.refresh_from_db()
    assert profile.user == alice
