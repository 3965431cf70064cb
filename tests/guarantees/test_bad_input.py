"""Bad input gets a clear answer and changes nothing; what people wrote is shown back escaped.

Hypothesis posts arbitrary text (very long, control characters including NUL, markup, SQL),
missing and extra fields, repeated fields, JSON instead of a form, and ids of other pros'
objects to the forms people write in: the report, the dispute reply, the reviewer's denial,
support's uphold, the thread's message and logged call. Whatever is posted: never a server
error (the test client raises it), never a stored row on refusal, and every stored text comes
back escaped on each page that shows it (the thread, the inbox, the request page and queues).

Each example runs in a savepoint that is rolled back, so examples do not see each other's rows.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import InboxMessage
from leads.models import ContactAttempt, Lead, Message
from refunds import services
from refunds.choices import Reason, Status
from refunds.models import Decision, Dispute, RefundEvent, RefundRequest
from tests.factories import LeadFactory
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, denied, disputed, submitted

pytestmark = pytest.mark.django_db

BOUNDED = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Markup that would run if it were shown back unescaped; none may ever appear raw on a page.
ATTACKS = [
    '<script>alert("owned")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
]
RAW = ["<script>alert(", "<img src=x onerror", "<svg onload"]
SQL = [
    "'; DROP TABLE refunds_refundrequest; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM refunds_refundevent; --",
]
TEMPLATE_SYNTAX = ["{{ request.user.password }}", "{% debug %}", "${7*7}"]

CHARS = st.characters(exclude_categories=("Cs",))  # surrogates cannot travel as UTF-8 at all
CONTROL = st.characters(min_codepoint=0, max_codepoint=31)


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(CHARS, max_size=60),
        st.text(CONTROL, min_size=1, max_size=10),
        st.sampled_from(ATTACKS + SQL + TEMPLATE_SYNTAX + ["", "   ", "\x00", "ok\x00ok"]),
        st.builds(lambda a, b: a + b, st.sampled_from(ATTACKS + SQL), st.text(CHARS, max_size=30)),
        st.integers(0, 7000).map(lambda n: "x" * n),  # around and far past every limit
    )


def acceptable_text() -> st.SearchStrategy[str]:
    """Text a form should take: hostile content, but within the rules (no NUL, not too long)."""
    plain = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
    return st.builds(
        lambda attack, rest: attack + rest,
        st.sampled_from(ATTACKS + SQL + TEMPLATE_SYNTAX + ["ok"]),
        plain.map(lambda text: text[:200]),
    )


def field(bad: st.SearchStrategy, good: st.SearchStrategy | None = None):
    """A form field: (a good value, anything at all: good, bad, missing or repeated)."""
    good = acceptable_text() if good is None else good
    either = st.one_of(good, bad)
    anything = st.one_of(either, st.none(), st.lists(either, min_size=2, max_size=3))
    return good, anything


def extra_fields() -> st.SearchStrategy[dict]:
    names = st.sampled_from(["pro", "status", "id", "lead", "amount", "is_staff", "csrf", "x"])
    return st.dictionaries(names, nasty_text(), max_size=3)


def form(**fields) -> st.SearchStrategy[dict]:
    """A POST body: half the time every field good, else each field anything; plus extras.

    A field given as a plain strategy is drawn from it either way.
    """

    def body(all_good: bool) -> st.SearchStrategy[dict]:
        chosen = {
            name: (spec[0] if all_good else spec[1]) if isinstance(spec, tuple) else spec
            for name, spec in fields.items()
        }
        return st.builds(
            lambda drawn, extra: {**extra, **{k: v for k, v in drawn.items() if v is not None}},
            st.fixed_dictionaries(chosen),
            extra_fields(),
        )

    return st.booleans().flatmap(body)


def post(client: Client, url: str, data: dict, as_json: bool):
    if as_json:  # the wrong encoding altogether: request.POST is empty
        return client.post(url, json.dumps(data), content_type="application/json")
    return client.post(url, data)


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def shown_escaped(*responses) -> None:
    for response in responses:
        # 400: the request page showing a refused form again.
        assert response.status_code in (200, 400), response
        html = response.content.decode()
        for raw in RAW:
            assert raw not in html, f"unescaped {raw!r} on {response.request['PATH_INFO']}"


def last(value):
    # A repeated field counts as its last value, as Django reads it.
    return value[-1] if isinstance(value, list) else value


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# The report


@BOUNDED
@given(
    data=form(
        reason=field(nasty_text(), good=st.sampled_from(Reason.values)),
        details=field(nasty_text()),
    ),
    whose=st.sampled_from(["own", "own", "own", "other", "missing"]),
    as_json=st.sampled_from([False, False, False, True]),
)
def test_the_report_form_takes_anything_and_stores_only_a_valid_report(
    alice, bob, rita, data, whose, as_json
):
    with rolled_back():
        own, other = LeadFactory(pro=alice), LeadFactory(pro=bob)
        lead_id = {"own": own.pk, "other": other.pk, "missing": other.pk + 1000}[whose]
        response = post(signed_in(alice), reverse("report", args=[lead_id]), data, as_json)

        stored = RefundRequest.objects.filter(lead_id=lead_id).first()
        if whose != "own":
            assert response.status_code == 404
            assert stored is None
            event("not found")
            return
        details = last(data.get("details", "")) if not as_json else ""
        valid = (
            not as_json
            and last(data.get("reason")) in Reason.values
            and "\x00" not in details
            and len(details.strip()) <= services.MAX_DETAILS_LENGTH
        )
        if not valid:
            assert response.status_code == 200
            assert stored is None
            assert not RefundEvent.objects.exists()
            shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        assert stored.details == details.strip()
        assert stored.status in (Status.SUBMITTED, Status.DENIED)
        event("stored")
        shown_escaped(
            signed_in(alice).get(reverse("lead_thread", args=[own.pk])),
            signed_in(rita).get(reverse("admin:refunds_refundrequest_change", args=[stored.pk])),
            signed_in(rita).get(reverse("admin:refunds_refundrequest_changelist")),
        )


@pytest.mark.parametrize("attack", ATTACKS)
def test_markup_in_a_report_is_shown_as_text(alice, rita, attack):
    lead = LeadFactory(pro=alice)
    signed_in(alice).post(reverse("report", args=[lead.pk]), {"reason": "spam", "details": attack})
    request = RefundRequest.objects.get(lead=lead)
    assert request.details == attack
    page = signed_in(rita).get(reverse("admin:refunds_refundrequest_change", args=[request.pk]))
    assert escape(attack) in page.content.decode()
    shown_escaped(page)


@BOUNDED
@given(seconds=st.integers(6, 3 * 86400) | st.integers(-3 * 86400, -6))
def test_the_report_window_holds_to_the_second_on_the_page_and_in_the_form(alice, seconds):
    """The lead's window closes `seconds` from now (negative: it closed that long ago)."""
    with rolled_back():
        window = timedelta(days=services.params().report_window_days)
        lead = LeadFactory(
            pro=alice, received_at=timezone.now() - window + timedelta(seconds=seconds)
        )
        client = signed_in(alice)
        report = reverse("report", args=[lead.pk])
        thread = client.get(reverse("lead_thread", args=[lead.pk])).content.decode()
        response = client.post(report, {"reason": Reason.SPAM})
        stored = RefundRequest.objects.filter(lead=lead).exists()
        if seconds > 0:
            assert f'href="{report}"' in thread
            assert response.status_code == 302
            assert stored
        else:
            assert f'href="{report}"' not in thread
            assert response.status_code == 200
            assert "Reporting for this lead closed on" in response.content.decode()
            assert not stored


def test_the_window_includes_its_last_moment_and_not_one_microsecond_more(alice):
    closes = LeadFactory(pro=alice)
    after = LeadFactory(pro=alice, received_at=closes.received_at)
    deadline = services.report_deadline(closes)
    services.submit_report(pro=alice, lead_id=closes.pk, reason=Reason.SPAM, now=deadline)
    with pytest.raises(services.RefundError, match="Reporting for this lead closed on"):
        services.submit_report(
            pro=alice,
            lead_id=after.pk,
            reason=Reason.SPAM,
            now=deadline + timedelta(microseconds=1),
        )
    assert list(RefundRequest.objects.values_list("lead_id", flat=True)) == [closes.pk]


# The dispute reply


@pytest.fixture
def notices(alice, bob, rita, django_capture_on_commit_callbacks):
    """alice's and bob's denial notices, and alice's approval notice (not disputable)."""
    capture = django_capture_on_commit_callbacks
    mine = denied(capture, alice, rita).decisions.get().notice
    theirs = denied(capture, bob, rita).decisions.get().notice
    approved = submitted(alice)
    with capture(execute=True):
        services.approve(reviewer=rita, request_id=approved.pk)
    approval = approved.decisions.get().notice
    return {"mine": mine, "theirs": theirs, "approval": approval}


@BOUNDED
@given(
    data=form(message=field(nasty_text())),
    which=st.sampled_from(["mine", "mine", "mine", "theirs", "approval", "missing"]),
    as_json=st.sampled_from([False, False, False, True]),
)
def test_the_dispute_reply_takes_anything_and_opens_only_a_valid_dispute(
    alice, sam, notices, data, which, as_json
):
    with rolled_back():
        target = notices.get(which)
        message_id = target.pk if target else InboxMessage.objects.order_by("pk").last().pk + 1
        response = post(signed_in(alice), reverse("dispute", args=[message_id]), data, as_json)

        if which in ("theirs", "missing"):
            assert response.status_code == 404
            assert not Dispute.objects.exists()
            return
        text = "" if as_json else (last(data.get("message")) or "")
        valid = text.strip() and "\x00" not in text and len(text) <= services.MAX_NOTE_LENGTH
        if not valid:
            assert response.status_code == 200
            assert not Dispute.objects.exists()
            shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        if which == "approval":
            assert not Dispute.objects.exists()
            return
        dispute = Dispute.objects.get()
        assert dispute.message == text.strip()
        assert dispute.request.status == Status.DISPUTED
        event("stored")
        shown_escaped(
            signed_in(alice).get(reverse("inbox_message", args=[message_id])),
            signed_in(sam).get(reverse("admin:refunds_dispute_changelist")),
            signed_in(sam).get(reverse("admin:refunds_dispute_change", args=[dispute.pk])),
        )


# The reviewer's denial and support's uphold


DENIAL = form(
    transition=(st.just("deny"), st.sampled_from(["deny", "approve", "overturn"]) | nasty_text()),
    explanation=field(nasty_text()),
    guidance=field(nasty_text()),
)


def denial_valid(data: dict, action: str) -> bool:
    texts = [last(data.get(name)) or "" for name in ("explanation", "guidance")]
    return data.get("transition") == action and all(
        text.strip() and "\x00" not in text and len(text) <= services.MAX_NOTE_LENGTH
        for text in texts
    )


def prefixed(data: dict, action: str) -> dict:
    # The page's forms are prefixed: deny-explanation, uphold-guidance…
    return {
        (f"{action}-{k}" if k in ("explanation", "guidance") else k): v for k, v in data.items()
    }


@BOUNDED
@given(data=DENIAL, which=st.sampled_from(["open", "open", "open", "decided", "missing"]))
def test_the_denial_form_takes_anything_and_records_only_a_valid_denial(
    alice, rita, data, which, django_capture_on_commit_callbacks
):
    with rolled_back():
        request = submitted(alice)
        if which == "decided":
            services.approve(reviewer=rita, request_id=request.pk)
        request_id = request.pk + (1000 if which == "missing" else 0)
        decisions = Decision.objects.count()
        url = reverse("admin:refunds_refundrequest_change", args=[request_id])
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(rita).post(url, prefixed(data, "deny"))

        if which == "missing":
            assert response.status_code == 302  # the admin's "does not exist" message
            assert Decision.objects.count() == decisions
            return
        if which == "open" and data.get("transition") == "approve":
            # The other button on the same page: an approval, whatever else was posted.
            assert response.status_code == 302
            assert Decision.objects.get(request=request).outcome == "approved"
            event("approved")
            return
        if which == "decided" or not denial_valid(data, "deny"):
            assert response.status_code in (302, 400)
            assert Decision.objects.count() == decisions
            if response.status_code == 400:
                shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        decision = Decision.objects.get(request=request)
        assert decision.explanation == last(data["explanation"]).strip()
        assert decision.guidance == last(data["guidance"]).strip()
        assert RefundRequest.objects.get(pk=request.pk).status == Status.DENIED
        event("stored")
        shown_escaped(
            signed_in(alice).get(reverse("inbox_message", args=[decision.notice_id])),
            signed_in(alice).get(reverse("inbox")),
            signed_in(rita).get(url),
        )


@BOUNDED
@given(data=DENIAL.map(lambda d: {**d, "transition": d["transition"].replace("deny", "uphold")}))
def test_the_uphold_form_takes_anything_and_records_only_a_valid_answer(
    alice, ralph, sam, data, django_capture_on_commit_callbacks
):
    with rolled_back():
        request = disputed(django_capture_on_commit_callbacks, alice, ralph)
        dispute = Dispute.objects.get(request=request)
        url = reverse("admin:refunds_dispute_change", args=[dispute.pk])
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(sam).post(url, prefixed(data, "uphold"))

        decisions = list(Decision.objects.filter(request=request))
        if not denial_valid(data, "uphold"):
            assert response.status_code in (302, 400)
            assert len(decisions) == 1
            assert RefundRequest.objects.get(pk=request.pk).status == Status.DISPUTED
            if response.status_code == 400:
                shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        assert len(decisions) == 2
        assert decisions[-1].explanation == last(data["explanation"]).strip()
        event("stored")
        shown_escaped(
            signed_in(alice).get(reverse("inbox_message", args=[decisions[-1].notice_id])),
            signed_in(sam).get(url),
        )


# The thread: a message and a logged call


@BOUNDED
@given(
    data=form(body=field(nasty_text())),
    whose=st.sampled_from(["own", "own", "own", "other", "missing"]),
    as_json=st.sampled_from([False, False, False, True]),
)
def test_a_message_takes_anything_and_stores_only_a_valid_one(
    alice, bob, rita, data, whose, as_json
):
    with rolled_back():
        own, other = LeadFactory(pro=alice), LeadFactory(pro=bob)
        lead_id = {"own": own.pk, "other": other.pk, "missing": other.pk + 1000}[whose]
        response = post(signed_in(alice), reverse("send_message", args=[lead_id]), data, as_json)

        if whose != "own":
            assert response.status_code == 404
            assert not Message.objects.exists() and not ContactAttempt.objects.exists()
            return
        body = "" if as_json else (last(data.get("body")) or "")
        if not (body.strip() and "\x00" not in body and len(body.strip()) <= 2000):
            assert response.status_code == 200
            assert not Message.objects.exists() and not ContactAttempt.objects.exists()
            shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        assert Message.objects.get().body == body.strip()
        assert ContactAttempt.objects.count() == 1
        request = services.submit_report(pro=alice, lead_id=own.pk, reason=Reason.SPAM)
        event("stored")
        shown_escaped(
            signed_in(alice).get(reverse("lead_thread", args=[own.pk])),
            signed_in(rita).get(reverse("admin:refunds_refundrequest_change", args=[request.pk])),
            signed_in(rita).get(reverse("admin:leads_lead_change", args=[own.pk])),
        )


@BOUNDED
@given(
    data=form(
        outcome=field(nasty_text(), good=st.sampled_from(["answered", "no_answer", "voicemail"])),
        note=field(nasty_text()),
    ),
    whose=st.sampled_from(["own", "own", "no_phone", "other"]),
)
def test_a_logged_call_takes_anything_and_stores_only_a_valid_one(alice, bob, data, whose):
    with rolled_back():
        lead = {
            "own": lambda: LeadFactory(pro=alice),
            "no_phone": lambda: LeadFactory(pro=alice, customer_phone=""),
            "other": lambda: LeadFactory(pro=bob),
        }[whose]()
        response = signed_in(alice).post(reverse("log_call", args=[lead.pk]), data)

        if whose == "other":
            assert response.status_code == 404
            assert not ContactAttempt.objects.exists()
            return
        outcome, note = last(data.get("outcome")), last(data.get("note")) or ""
        valid = (
            whose == "own"
            and outcome in ("answered", "no_answer", "voicemail")
            and "\x00" not in note
            and len(note.strip()) <= 500
        )
        if not valid:
            assert response.status_code == 200
            assert not ContactAttempt.objects.exists()
            shown_escaped(response)
            event("refused")
            return
        assert response.status_code == 302
        attempt = ContactAttempt.objects.get()
        assert (attempt.outcome, attempt.note) == (outcome, note.strip())
        event("stored")
        shown_escaped(signed_in(alice).get(reverse("lead_thread", args=[lead.pk])))


def test_no_one_reaches_another_pros_lead_through_any_form(alice, bob):
    lead = LeadFactory(pro=bob)
    client = signed_in(alice)
    for name, data in (
        ("report", {"reason": Reason.SPAM}),
        ("send_message", {"body": "Hello"}),
        ("log_call", {"outcome": "answered"}),
    ):
        assert client.post(reverse(name, args=[lead.pk]), data).status_code == 404
    assert not Message.objects.exists()
    assert not ContactAttempt.objects.exists()
    assert not RefundRequest.objects.exists()
    assert Lead.objects.get(pk=lead.pk).pro == bob


def test_the_denial_messages_are_the_templates_words_not_the_posted_markup(alice, rita):
    # A reviewer cannot slip markup into the pro's inbox either: it arrives as text.
    request = submitted(alice)
    services.deny(
        reviewer=rita,
        request_id=request.pk,
        explanation=ATTACKS[0] + EXPLANATION,
        guidance=GUIDANCE,
    )
    services.deliver_denial(Decision.objects.get(request=request).pk)
    message = InboxMessage.objects.get(recipient=alice)
    assert ATTACKS[0] in message.body
    shown_escaped(signed_in(alice).get(reverse("inbox_message", args=[message.pk])))


def test_an_empty_report_post_says_what_is_missing(alice):
    # JSON instead of a form, or nothing at all: the form is still checked and says why.
    lead = LeadFactory(pro=alice)
    client = signed_in(alice)
    for response in (
        client.post(reverse("report", args=[lead.pk])),
        client.post(reverse("report", args=[lead.pk]), "{}", content_type="application/json"),
    ):
        assert response.status_code == 200
        assert "Choose the reason that fits this lead." in response.content.decode()
    assert not RefundRequest.objects.exists()
