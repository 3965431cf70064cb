"""One voice on every page of the demo: no amount without its currency sign, one word per state.

seed_demo loads the demo into the test database; each persona (pro, reviewer, support, admin)
signs in and opens every page it works with. The visible text of each (scripts, styles and
form fields' values left out; tooltips and chart titles kept, since people read them too) must
not hold an amount such as 24.50 that lacks its sign ($24.50). The CSV downloads are plain
numbers on purpose, their column headers naming the currency, and are not swept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import InboxMessage, User
from leads.models import Lead
from refunds.admin.analytics import PAGES
from refunds.models import Credit, Dispute, RefundRequest, SpotCheck

pytestmark = pytest.mark.django_db

# Digits with two decimals (1,234.50 too) not straight after a currency sign, and not part of a
# longer number, a version or an address (127.0.0.1), a percentage or a count of reviewers
# (the capacity page's "0.08 reviewer-days").
NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}"
# A number followed by a unit of time ("5.47 h") or of work ("0.03 reviewer-hours") is no amount.
BARE_AMOUNT = re.compile(rf"(?<![$\d.,]){NUMBER}(?![\d.%])(?!\s*(?:reviewer|h\b))")

# Attributes whose text a person reads (a tooltip) or hears (a screen reader).
READ_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder")


class VisibleText(HTMLParser):
    """The text a person reads, each piece with the header of the table row it is in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[tuple[str, str]] = []
        self._hidden = 0
        self._row_header = ""
        self._in_row_header = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea"):
            self._hidden += 1
        if tag == "tr":
            self._row_header = ""
        if tag == "th" and ("scope", "row") in attrs:
            self._in_row_header = True
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.chunks.append((value, self._row_header))

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea") and self._hidden:
            self._hidden -= 1
        if tag == "th":
            self._in_row_header = False

    def handle_data(self, data):
        if self._in_row_header:
            self._row_header += data
        if not self._hidden:
            self.chunks.append((data, self._row_header))


# One word per state: a refused request is "denied" (refunds.choices.Status.DENIED), on every
# page as in the notices, the emails and the API; "declined" once stood beside it.
OTHER_STATE_WORDS = re.compile(r"\b(declined|rejected|refused)\b", re.IGNORECASE)


def other_state_words(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return [" ".join(c.split())[:160] for c, _ in parser.chunks if OTHER_STATE_WORDS.search(c)]


def bare_amounts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for chunk, row_header in parser.chunks:
        if "reviewer" in row_header:
            continue  # the capacity page's rows count reviewer-hours, not money
        if BARE_AMOUNT.search(chunk):
            found.append(" ".join(chunk.split())[:160])
    return found


def test_the_sweep_finds_a_bare_amount_and_passes_a_signed_one():
    assert bare_amounts("<p>Credited 24.50 to the card</p>") == ["Credited 24.50 to the card"]
    assert bare_amounts('<span title="Price 1,240.00">x</span>') == ["Price 1,240.00"]
    assert (
        bare_amounts(
            "<p>$24.50 · −$3.00 · +$1,240.00 · 12.5% · 50.00% · 5.47 h · v1.20.3 · 127.0.0.1</p>"
            '<input value="24.50"><script>var a = 24.50;</script>'
            '<table><tr><th scope="row">reviewer-hours a day</th><td>0.03</td></tr></table>'
        )
        == []
    )
    assert bare_amounts('<tr><th scope="row">all</th><td>54.50</td></tr>') == ["54.50"]


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def pro_pages(pro: User) -> list[tuple[str, str, dict | None]]:
    """(what, url, POST data or None) of every page the pro works with."""
    pages = [("Messages", reverse("messages"), None)]
    for lead in Lead.objects.filter(pro=pro):
        pages.append((f"thread {lead.pk}", reverse("lead_thread", args=[lead.pk]), None))
        pages.append((f"report {lead.pk}", reverse("report", args=[lead.pk]), None))
    reportable = Lead.objects.filter(pro=pro, refund_request__isnull=True).first()
    pages.append(("Report with errors", reverse("report", args=[reportable.pk]), {}))
    pages.append(("Inbox", reverse("inbox"), None))
    for message in InboxMessage.objects.filter(recipient=pro):
        pages.append((f"message {message.pk}", reverse("inbox_message", args=[message.pk]), None))
    pages.append(("Credits", reverse("credits"), None))
    return pages


def analytics_pages() -> list[tuple[str, str, dict | None]]:
    return [("analytics", reverse("analytics:index"), None)] + [
        (f"analytics {slug}", reverse("analytics:page", args=[slug]), None) for slug in PAGES
    ]


def review_pages() -> list[tuple[str, str, dict | None]]:
    pages = [
        ("staff home", reverse("admin:index"), None),
        ("queue", reverse("admin:refunds_refundrequest_changelist"), None),
        ("spot checks", reverse("admin:refunds_spotcheck_changelist"), None),
    ]
    for request in RefundRequest.objects.all():
        url = reverse("admin:refunds_refundrequest_change", args=[request.pk])
        pages.append((f"request {request.pk}", url, None))
    for check in SpotCheck.objects.all():
        url = reverse("admin:refunds_spotcheck_change", args=[check.pk])
        pages.append((f"spot check {check.pk}", url, None))
    return pages + analytics_pages()


def support_pages() -> list[tuple[str, str, dict | None]]:
    pages = [
        ("staff home", reverse("admin:index"), None),
        ("disputes", reverse("admin:refunds_dispute_changelist"), None),
        ("credits", reverse("admin:refunds_credit_changelist"), None),
        (
            "credits needing a person",
            reverse("admin:refunds_credit_changelist") + "?stuck=yes",
            None,
        ),
    ]
    for dispute in Dispute.objects.all():
        url = reverse("admin:refunds_dispute_change", args=[dispute.pk])
        pages.append((f"dispute {dispute.pk}", url, None))
    for credit in Credit.objects.all():
        pages.append(
            (f"credit {credit.pk}", reverse("admin:refunds_credit_change", args=[credit.pk]), None)
        )
    return pages


def admin_pages() -> list[tuple[str, str, dict | None]]:
    lead = Lead.objects.first()
    return [
        *review_pages(),
        *support_pages(),
        ("leads", reverse("admin:leads_lead_changelist"), None),
        ("a lead", reverse("admin:leads_lead_change", args=[lead.pk]), None),
        ("ledger", reverse("admin:accounts_ledgerentry_changelist"), None),
        ("inbox messages", reverse("admin:accounts_inboxmessage_changelist"), None),
        ("decisions", reverse("admin:refunds_decision_changelist"), None),
        ("events", reverse("admin:refunds_refundevent_changelist"), None),
    ]


PERSONAS = {
    "pro@demo.test": lambda user: pro_pages(user),
    "reviewer@demo.test": lambda user: review_pages(),
    "support@demo.test": lambda user: support_pages(),
    "admin@demo.test": lambda user: admin_pages(),
}


@pytest.mark.parametrize("email", PERSONAS)
def test_no_page_of_the_demo_shows_an_amount_without_its_sign_or_another_state_word(
    demo, client, email
):
    user = User.objects.get(email=email)
    client.force_login(user)
    pages = PERSONAS[email](user)
    assert len(pages) > 5
    problems = []
    for what, url, data in pages:
        response = client.get(url) if data is None else client.post(url, data)
        if response.status_code == 302 and what.startswith("report"):
            continue  # a lead already reported, or past its window: the thread says why
        assert response.status_code == 200, (what, url, response.status_code)
        problems += [(what, url, text) for text in bare_amounts(response.text)]
        problems += [(what, url, text) for text in other_state_words(response.text)]
    assert problems == [], "\n".join(map(str, problems))
