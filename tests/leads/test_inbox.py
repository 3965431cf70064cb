"""Marketing → Messages as an inbox: threads by last activity, a mark on new replies, search by
the customer's name, phone or email, and the filters Reportable now / Reported / All."""

import json
import re
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from integrations.choices import Scope
from integrations.models import ApiKey
from leads import services as leads_services
from leads.choices import Outcome, Sender
from leads.models import Lead
from refunds import services
from refunds.choices import Reason, Status
from tests.factories import LeadFactory, MessageFactory, RefundRequestFactory

URL = reverse("messages")
# Session, user, roles, the top bar's two counters, the page count and the page itself, and
# the pro's market when searching (to read national phone numbers): the same at 5 threads as at
# 50. The thread page: its own bound (tests/leads/test_thread.py) and the market.
MAX_QUERIES = 9
THREAD_MAX_QUERIES = 15


def names(response) -> list[str]:
    return [lead.customer_name for lead in response.context["threads"]]


def thread_url(lead):
    return reverse("lead_thread", args=[lead.pk])


@pytest.fixture
def three(alice):
    """Alice's leads, received a day apart; none has a message or an attempt yet."""
    now = timezone.now()
    return [
        LeadFactory(pro=alice, customer_name=name, received_at=now - timedelta(days=days))
        for days, name in ((1, "Ann Newest"), (2, "Ben Middle"), (3, "Cal Oldest"))
    ]


# Order


def test_threads_without_activity_are_listed_by_arrival(client_for, alice, three):
    assert names(client_for(alice).get(URL)) == ["Ann Newest", "Ben Middle", "Cal Oldest"]


def test_a_message_moves_its_thread_to_the_top(client_for, alice, three):
    ann, ben, cal = three
    MessageFactory(lead=cal, sender=Sender.CUSTOMER, body="Still free?", sent_at=timezone.now())
    response = client_for(alice).get(URL)
    assert names(response) == ["Cal Oldest", "Ann Newest", "Ben Middle"]
    html = response.text
    assert html.index("Cal Oldest") < html.index("Ann Newest") < html.index("Ben Middle")


def test_a_contact_attempt_moves_its_thread_to_the_top(client_for, alice, three):
    ann, ben, cal = three
    MessageFactory(lead=cal, sent_at=timezone.now() - timedelta(hours=1))
    leads_services.log_call(pro=alice, lead=ben, outcome=Outcome.NO_ANSWER)
    assert names(client_for(alice).get(URL)) == ["Ben Middle", "Cal Oldest", "Ann Newest"]


def test_the_latest_of_message_and_attempt_counts(client_for, alice, three):
    ann, ben, cal = three
    now = timezone.now()
    leads_services.log_call(pro=alice, lead=cal, outcome=Outcome.VOICEMAIL, now=now)
    # An older message arriving later does not move the thread back.
    MessageFactory(lead=cal, sent_at=now - timedelta(hours=5))
    MessageFactory(lead=ann, sent_at=now - timedelta(hours=2))
    assert names(client_for(alice).get(URL)) == ["Cal Oldest", "Ann Newest", "Ben Middle"]
    cal.refresh_from_db()
    assert cal.last_activity_at == now


def test_the_pros_own_message_moves_the_thread_too(client_for, alice, three):
    ann, ben, cal = three
    client = client_for(alice)
    client.post(reverse("send_message", args=[ben.pk]), {"body": "Hello Ben"})
    assert names(client.get(URL))[0] == "Ben Middle"


def test_the_list_shows_the_last_activity_time(client_for, alice, three):
    ann, ben, cal = three
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=3)
    MessageFactory(lead=cal, sent_at=at)
    html = client_for(alice).get(URL).text
    shown = [datetime.fromisoformat(value) for value in re.findall(r'datetime="([^"]+)"', html)]
    assert shown[0] == at


def test_a_customer_message_from_the_marketplace_moves_and_marks_its_thread(
    client, client_for, alice, three
):
    ann, ben, cal = three
    _, key = ApiKey.issue("Marketplace", [Scope.MESSAGES_WRITE.value])
    body = {
        "lead_id": cal.marketplace_id,
        "sender": "customer",
        "body": "Can you come this afternoon?",
        "sent_at": timezone.now().replace(microsecond=0).isoformat(),
    }
    response = client.put(
        "/api/v1/messages/M-77",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201
    response = client_for(alice).get(URL)
    assert names(response)[0] == "Cal Oldest"
    assert _marked(response) == ["Cal Oldest"]


# The mark on new replies


def _marked(response) -> list[str]:
    return [lead.customer_name for lead in response.context["threads"] if lead.new_reply]


def test_a_customer_reply_marks_the_thread_until_the_pro_opens_it(client_for, alice, three):
    ann, ben, cal = three
    client = client_for(alice)
    client.get(thread_url(ben))
    MessageFactory(lead=ben, sender=Sender.CUSTOMER, body="Yes, Tuesday works.")
    response = client.get(URL)
    assert _marked(response) == ["Ben Middle"]
    assert response.text.count("New reply") == 1

    client.get(thread_url(ben))
    response = client.get(URL)
    assert _marked(response) == []
    assert "New reply" not in response.text


def test_the_open_thread_is_not_marked_in_the_list_beside_it(client_for, alice, three):
    ann, ben, cal = three
    MessageFactory(lead=ben, sender=Sender.CUSTOMER)
    MessageFactory(lead=cal, sender=Sender.CUSTOMER)
    response = client_for(alice).get(thread_url(ben))
    assert _marked(response) == ["Cal Oldest"]


def test_a_late_arriving_message_is_new_even_if_written_before_the_pro_looked(
    client_for, alice, three
):
    ann, ben, cal = three
    client = client_for(alice)
    client.get(thread_url(ann))
    # The messaging service delivers a message written an hour before the pro opened the thread.
    MessageFactory(lead=ann, sender=Sender.CUSTOMER, sent_at=timezone.now() - timedelta(hours=1))
    assert _marked(client.get(URL)) == ["Ann Newest"]


def test_a_thread_never_opened_is_new_once_the_customer_writes(client_for, alice, three):
    ann, ben, cal = three
    MessageFactory(lead=ann, sender=Sender.PRO)
    MessageFactory(lead=cal, sender=Sender.CUSTOMER)
    assert _marked(client_for(alice).get(URL)) == ["Cal Oldest"]


def test_the_pros_own_message_does_not_mark_the_thread(client_for, alice, three):
    ann, ben, cal = three
    client = client_for(alice)
    client.get(thread_url(ann))
    client.post(reverse("send_message", args=[ann.pk]), {"body": "Are you still looking?"})
    leads_services.log_call(pro=alice, lead=ann, outcome=Outcome.NO_ANSWER)
    MessageFactory(lead=ann, sender=Sender.SYSTEM, body="The customer viewed your profile.")
    assert _marked(client.get(URL)) == []


def test_a_reply_after_the_pros_message_marks_it_again(client_for, alice, three):
    ann, ben, cal = three
    client = client_for(alice)
    client.post(reverse("send_message", args=[ann.pk]), {"body": "Are you still looking?"})
    assert _marked(client.get(URL)) == []
    MessageFactory(
        lead=ann, sender=Sender.CUSTOMER, body="Yes!", sent_at=timezone.now() + timedelta(seconds=1)
    )
    assert _marked(client.get(URL)) == ["Ann Newest"]


def test_the_mark_has_text_for_screen_readers(client_for, alice, three):
    MessageFactory(lead=three[0], sender=Sender.CUSTOMER)
    html = client_for(alice).get(URL).text
    link = re.search(r'<a href="/messages/\d+/"[^>]*thread-new.*?</a>', html, re.S).group(0)
    assert "Ann Newest" in link
    assert re.search(r"<span[^>]*data-new-reply[^>]*>.*New reply</span>", link, re.S)


def test_another_pro_opening_nothing_changes_alices_marks(client_for, alice, bob, three):
    MessageFactory(lead=three[0], sender=Sender.CUSTOMER)
    assert client_for(bob).get(thread_url(three[0])).status_code == 404
    three[0].refresh_from_db()
    assert three[0].read_at is None


# Search


@pytest.fixture
def customers(alice, market):
    now = timezone.now()
    return {
        "maria": LeadFactory(
            pro=alice,
            customer_name="Maria Lopez",
            customer_phone="+15125550142",
            customer_email="maria.lopez@example.com",
            received_at=now - timedelta(days=1),
        ),
        "dan": LeadFactory(
            pro=alice,
            customer_name="Dan Whitfield",
            customer_phone="+17375550199",
            customer_email="dan@whitfield.example",
            received_at=now - timedelta(days=2),
        ),
        "nophone": LeadFactory(
            pro=alice,
            customer_name="Priya Shah",
            customer_phone="",
            customer_email="",
            received_at=now - timedelta(days=3),
        ),
    }


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("maria", ["Maria Lopez"]),
        ("LOPEZ", ["Maria Lopez"]),
        ("  whit ", ["Dan Whitfield"]),
        ("maria.lopez@example.com", ["Maria Lopez"]),
        ("whitfield.example", ["Dan Whitfield"]),
        ("5125550142", ["Maria Lopez"]),
        ("(512) 555-0142", ["Maria Lopez"]),
        ("512-555-0142", ["Maria Lopez"]),
        ("+15125550142", ["Maria Lopez"]),
        ("+1 512 555 0142", ["Maria Lopez"]),
        ("1 (512) 555 0142", ["Maria Lopez"]),
        ("555-0199", ["Dan Whitfield"]),
        ("555", ["Maria Lopez", "Dan Whitfield"]),
        ("Nobody", []),
    ],
)
def test_it_finds_customers_by_name_phone_or_email(client_for, alice, customers, typed, found):
    response = client_for(alice).get(URL, {"q": typed})
    assert response.status_code == 200
    assert names(response) == found


def test_the_search_stays_in_the_box_and_the_links(client_for, alice, customers):
    response = client_for(alice).get(URL, {"q": "maria", "show": "reportable"})
    html = response.text
    assert '<label for="thread-search" class="visually-hidden">Search by name, phone or email' in (
        html
    )
    assert 'name="q" value="maria"' in html
    assert 'name="show" value="reportable"' in html
    lead = customers["maria"]
    assert f'href="/messages/{lead.pk}/?q=maria&amp;show=reportable"' in html
    # Choosing another filter keeps the search.
    assert 'href="/messages/?q=maria&amp;show=reported"' in html
    assert 'href="/messages/?q=maria"' in html


def test_the_thread_page_lists_the_same_search_beside_it(client_for, alice, customers):
    lead = customers["maria"]
    response = client_for(alice).get(thread_url(lead), {"q": "maria"})
    assert names(response) == ["Maria Lopez"]
    assert 'href="/messages/?q=maria"' in response.text  # back to the list, on a phone


def test_an_empty_search_says_what_was_searched(client_for, alice, customers):
    response = client_for(alice).get(URL, {"q": "Zed Zebra"})
    assert names(response) == []
    assert "No threads match “Zed Zebra”." in response.text
    assert 'href="/messages/">Clear the search' in response.text
    response = client_for(alice).get(URL, {"q": "Zed", "show": "reported"})
    assert "No threads match “Zed” in Reported." in response.text
    assert 'href="/messages/?show=reported">Clear the search' in response.text


def test_search_results_are_paginated_with_the_search_kept(client_for, alice):
    now = timezone.now()
    for n in range(23):
        LeadFactory(pro=alice, customer_name=f"Smith {n}", received_at=now - timedelta(hours=n))
    LeadFactory(pro=alice, customer_name="Jones")
    client = client_for(alice)
    first = client.get(URL, {"q": "smith"})
    assert len(first.context["threads"]) == 20
    assert first.context["threads"].paginator.count == 23
    assert 'href="?q=smith&amp;page=2"' in first.text
    second = client.get(URL, {"q": "smith", "page": 2})
    assert names(second) == ["Smith 20", "Smith 21", "Smith 22"]
    assert "Page 2 of 2" in second.text
    # From a thread of page 2 the list beside it is still page 2 of the search.
    assert f'href="/messages/{second.context["threads"][0].pk}/?q=smith&amp;page=2"' in second.text


# Filters


@pytest.fixture
def states(alice):
    """One of alice's leads in each state that matters to Report."""
    now = timezone.now()

    def lead(name, days):
        return LeadFactory(pro=alice, customer_name=name, received_at=now - timedelta(days=days))

    fresh = lead("Fresh Lead", 2)
    closing = lead("Closing Lead", 13.9)
    expired = lead("Expired Lead", 14.1)
    submitted = lead("Submitted Lead", 3)
    RefundRequestFactory(lead=submitted, status=Status.SUBMITTED)
    denied = lead("Denied Lead", 4)
    RefundRequestFactory(lead=denied, status=Status.DENIED)
    withdrawn = lead("Withdrawn Lead", 5)
    RefundRequestFactory(lead=withdrawn, status=Status.WITHDRAWN)
    return [fresh, closing, expired, submitted, denied, withdrawn]


@pytest.mark.parametrize(
    ("show", "listed"),
    [
        ("reportable", {"Fresh Lead", "Closing Lead"}),
        ("reported", {"Submitted Lead", "Denied Lead", "Withdrawn Lead"}),
        (
            "all",
            {
                "Fresh Lead",
                "Closing Lead",
                "Expired Lead",
                "Submitted Lead",
                "Denied Lead",
                "Withdrawn Lead",
            },
        ),
    ],
)
def test_each_filter_lists_its_threads(client_for, alice, states, show, listed):
    response = client_for(alice).get(URL, {"show": show})
    assert set(names(response)) == listed
    assert response.context["threads"].paginator.count == len(listed)
    label = {"reportable": "Reportable now", "reported": "Reported", "all": "All"}[show]
    assert re.search(rf'class="nav-link active"[^>]*aria-current="page">{label}</a>', response.text)


def test_reportable_now_is_exactly_the_threads_whose_menu_offers_report(client_for, alice, states):
    client = client_for(alice)
    reportable = {lead.pk for lead in client.get(URL, {"show": "reportable"}).context["threads"]}
    for lead in states:
        menu = client.get(thread_url(lead)).text
        offers_report = f'href="{reverse("report", args=[lead.pk])}"' in menu
        assert offers_report == (lead.pk in reportable), lead.customer_name


def test_reportable_now_ends_exactly_where_the_report_window_closes(alice):
    now = timezone.now()
    window = timedelta(days=services.params().report_window_days)
    last_moment = LeadFactory(pro=alice, received_at=now - window)
    just_past = LeadFactory(pro=alice, received_at=now - window - timedelta(microseconds=1))
    found = set(services.reportable_leads(alice.leads.all(), now=now))
    assert found == {last_moment}
    assert services.reportable(last_moment, now=now)
    assert not services.reportable(just_past, now=now)


def test_a_report_moves_the_thread_from_reportable_to_reported(client_for, alice, states):
    fresh = states[0]
    services.submit_report(pro=alice, lead_id=fresh.pk, reason=Reason.SPAM)
    client = client_for(alice)
    assert "Fresh Lead" not in names(client.get(URL, {"show": "reportable"}))
    assert "Fresh Lead" in names(client.get(URL, {"show": "reported"}))


def test_filter_and_search_combine(client_for, alice, states):
    response = client_for(alice).get(URL, {"show": "reported", "q": "denied"})
    assert names(response) == ["Denied Lead"]
    response = client_for(alice).get(URL, {"show": "reportable", "q": "denied"})
    assert names(response) == []
    assert "No threads match “denied” in Reportable now." in response.text


def test_an_empty_filter_says_so(client_for, alice, three):
    response = client_for(alice).get(URL, {"show": "reported"})
    assert names(response) == []
    assert "No threads match the filter Reported." in response.text


# Bad input


def test_an_unknown_filter_is_explained_and_changes_nothing(client_for, alice, states):
    response = client_for(alice).get(URL, {"show": "everything", "q": "fresh"})
    assert response.status_code == 200
    assert (
        "There is no such filter: choose All, Reportable now, Reported. All threads are shown."
        in response.text
    )
    assert len(names(response)) == len(states)
    assert 'name="q" value=""' in response.text
    assert 'aria-invalid="true" aria-describedby="thread-search-error"' in response.text


def test_a_500_character_search_is_explained_and_changes_nothing(client_for, alice, states):
    response = client_for(alice).get(URL, {"q": "x" * 500, "show": "reported"})
    assert response.status_code == 200
    assert (
        "Search for 100 characters or fewer (this search has 500). Nothing was searched."
        in response.text
    )
    assert len(names(response)) == len(states)
    assert "x" * 500 not in response.text


# Isolation


def test_another_pros_threads_never_show_in_results_or_counts(client_for, alice, bob, customers):
    twin = LeadFactory(
        pro=bob,
        customer_name="Maria Lopez",
        customer_phone="+15125550142",
        customer_email="maria.lopez@example.com",
        received_at=timezone.now(),
    )
    MessageFactory(lead=twin, sender=Sender.CUSTOMER, sent_at=timezone.now())
    RefundRequestFactory(lead=LeadFactory(pro=bob, customer_name="Bob Reported"))
    client = client_for(alice)
    for params in (
        {},
        {"q": "maria"},
        {"q": "+15125550142"},
        {"q": "maria.lopez@example.com"},
        {"show": "reportable"},
        {"show": "reported"},
        {"show": "reported", "q": "bob"},
    ):
        response = client.get(URL, params)
        listed = list(response.context["threads"])
        assert all(lead.pro_id == alice.pk for lead in listed), params
        assert response.context["threads"].paginator.count == len(listed), params
        assert "Bob Reported" not in response.text
    assert names(client.get(URL, {"q": "maria"})) == ["Maria Lopez"]
    assert client.get(URL, {"q": "maria"}).context["threads"].paginator.count == 1


# Query count


def _threads(pro, count):
    now = timezone.now()
    for n in range(count):
        lead = LeadFactory(
            pro=pro, customer_name=f"Customer {n}", received_at=now - timedelta(hours=n)
        )
        MessageFactory(lead=lead, sender=Sender.PRO)
        MessageFactory(lead=lead, sender=Sender.CUSTOMER, sent_at=now - timedelta(minutes=n))
        if n % 3 == 0:
            RefundRequestFactory(lead=lead)


@pytest.mark.parametrize("count", [5, 50])
@pytest.mark.parametrize(
    "params",
    [{}, {"q": "customer"}, {"show": "reportable"}, {"show": "reported", "q": "Customer 1"}],
)
def test_its_query_count_is_the_same_at_5_and_50_threads(
    client_for, alice, count, params, django_assert_max_num_queries
):
    _threads(alice, count)
    client = client_for(alice)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(URL, params)
    assert response.status_code == 200


@pytest.mark.parametrize("count", [5, 50])
def test_the_thread_page_query_count_is_the_same_at_5_and_50_threads(
    client_for, alice, count, django_assert_max_num_queries
):
    _threads(alice, count)
    lead = alice.leads.first()
    client = client_for(alice)
    with django_assert_max_num_queries(THREAD_MAX_QUERIES):
        response = client.get(thread_url(lead), {"q": "customer", "show": "reported"})
    assert response.status_code == 200


# The benchmark's data set


@pytest.mark.django_db(transaction=True)
def test_the_generated_data_set_keeps_what_the_saves_keep():
    """generate_load writes rows in bulk, past Message.save and ContactAttempt.save."""
    call_command("generate_load", leads=200, seed=3, quiet=True, stdout=StringIO())
    leads = Lead.objects.annotate(
        message=Max("messages__sent_at"),
        customer=Max("messages__sent_at", filter=Q(messages__sender=Sender.CUSTOMER)),
    ).annotate(attempt=Max("contact_attempts__attempted_at"))
    for lead in leads:
        expected = max((at for at in (lead.message, lead.attempt) if at), default=None)
        assert lead.last_activity_at == expected
        assert lead.customer_wrote_at == lead.customer
