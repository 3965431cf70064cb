"""The keyboard-first review path through the pages: Start reviewing, the next request after a
decision within the queue as filtered, j/k, bulk deny's templates, and Undo."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from accounts.models import InboxMessage, LedgerEntry
from refunds import services, tasks
from refunds.choices import Reason, Status
from refunds.management.commands.audit_refunds import problems_of
from refunds.models import Credit, RefundRequest
from tests.refunds.staff_flows import EXPLANATION, GUIDANCE, chatty_lead

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:refunds_refundrequest_changelist")
START = reverse("admin:refunds_refundrequest_start")


def page(pk: int) -> str:
    return reverse("admin:refunds_refundrequest_change", args=[pk])


def report(pro, reason=Reason.WRONG_JOB, hours_ago=0):
    lead = chatty_lead(pro)
    return services.submit_report(
        pro=pro,
        lead_id=lead.pk,
        reason=reason,
        now=timezone.now() - timedelta(hours=hours_ago),
    )


def filters_of(url: str) -> str:
    return parse_qs(urlparse(url).query).get("_changelist_filters", [""])[0]


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def undo_window(settings):
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}


# Start reviewing


def test_start_reviewing_claims_the_most_urgent_request_of_the_filtered_queue(
    client_for, alice, rita
):
    report(alice, Reason.WRONG_JOB, hours_ago=20)  # most urgent, but filtered out below
    later = report(alice, Reason.SPAM, hours_ago=2)
    oldest_spam = report(alice, Reason.SPAM, hours_ago=10)
    client = client_for(rita)
    queue = client.get(QUEUE, {"reason__exact": Reason.SPAM})
    assert "Start reviewing" in queue.text
    filters = urlencode({"reason__exact": Reason.SPAM})
    response = client.post(START, {"_changelist_filters": filters})
    assert response.status_code == 302
    assert urlparse(response.url).path == page(oldest_spam.pk)
    assert filters_of(response.url) == filters
    oldest_spam.refresh_from_db()
    assert oldest_spam.status == Status.IN_REVIEW and oldest_spam.claimed_by == rita
    later.refresh_from_db()
    assert later.status == Status.SUBMITTED


def test_start_reviewing_skips_what_a_colleague_holds(client_for, alice, rita, ralph):
    held = report(alice, hours_ago=10)
    free = report(alice, hours_ago=5)
    services.claim(reviewer=ralph, request_id=held.pk)
    response = client_for(rita).post(START, {"_changelist_filters": ""})
    assert urlparse(response.url).path == page(free.pk)


def test_start_reviewing_on_an_empty_queue_says_so(client_for, rita):
    response = client_for(rita).post(START, {"_changelist_filters": "reason__exact=spam"})
    assert response.url == f"{QUEUE}?reason__exact=spam"
    assert said(response) == ["Nothing to review: no open request is free in this queue."]


def test_support_cannot_start_reviewing(client_for, alice, sam):
    report(alice)
    assert client_for(sam).post(START).status_code == 403
    assert "Start reviewing" not in client_for(sam).get(QUEUE).text


# After a decision, the next one of the same queue


def test_after_approving_the_next_request_of_the_filtered_queue_opens_claimed(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    first = report(alice, Reason.SPAM, hours_ago=10)
    report(alice, Reason.WRONG_JOB, hours_ago=8)  # not in the filtered queue
    second = report(alice, Reason.SPAM, hours_ago=4)
    filters = urlencode({"reason__exact": Reason.SPAM})
    client = client_for(rita)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{page(first.pk)}?{urlencode({'_changelist_filters': filters})}",
            {"transition": "approve"},
        )
    assert urlparse(response.url).path == page(second.pk)
    assert filters_of(response.url) == filters
    assert said(response) == [
        f"Approved request #{first.pk}: $24.50 goes back to Alice Plumbing. "
        f"Next: request #{second.pk}."
    ]
    second.refresh_from_db()
    assert second.claimed_by == rita and second.status == Status.IN_REVIEW
    # Then the queue empties: back to the list as it was filtered.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url, {"transition": "approve"})
    assert response.url == f"{QUEUE}?{filters}"
    assert "The queue is empty" in said(response)[-1]


def test_after_denying_the_next_request_opens_too(
    client_for, alice, rita, django_capture_on_commit_callbacks
):
    first = report(alice, hours_ago=10)
    second = report(alice, hours_ago=4)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).post(
            page(first.pk),
            {"transition": "deny", "deny-explanation": EXPLANATION, "deny-guidance": GUIDANCE},
        )
    assert urlparse(response.url).path == page(second.pk)
    first.refresh_from_db()
    assert first.status == Status.DENIED


def test_the_page_links_the_previous_and_next_requests_of_the_queue(client_for, alice, rita):
    a = report(alice, hours_ago=12)
    b = report(alice, hours_ago=8)
    c = report(alice, hours_ago=4)
    html = client_for(rita).get(page(b.pk)).text
    assert f'href="{page(a.pk)}" rel="prev" data-key="k"' in html
    assert f'href="{page(c.pk)}" rel="next" data-key="j"' in html
    first = client_for(rita).get(page(a.pk)).text
    assert 'rel="prev"' not in first
    assert "Skip to the decision" in first
    assert "Keyboard shortcuts" in first


def test_the_queue_link_keeps_the_filters(client_for, alice, rita):
    request = report(alice, Reason.SPAM)
    filters = urlencode({"reason__exact": Reason.SPAM})
    html = (
        client_for(rita)
        .get(f"{page(request.pk)}?{urlencode({'_changelist_filters': filters})}")
        .text
    )
    assert f'href="{QUEUE}?reason__exact=spam"' in html


# Bulk deny's templates


def test_bulk_deny_of_mixed_reasons_prefills_no_template(client_for, alice, rita):
    spam = report(alice, Reason.SPAM)
    wrong = report(alice, Reason.WRONG_JOB)
    response = client_for(rita).post(
        QUEUE, {"action": "bulk_deny", "_selected_action": [spam.pk, wrong.pk]}
    )
    assert "different reasons" in response.text
    form = response.context["form"]
    assert not form.initial


def test_bulk_deny_of_one_reason_starts_from_its_template(client_for, alice, rita):
    a, b = report(alice, Reason.SPAM), report(alice, Reason.SPAM)
    response = client_for(rita).post(
        QUEUE, {"action": "bulk_deny", "_selected_action": [a.pk, b.pk]}
    )
    assert "genuine" in response.context["form"].initial["explanation"]


# Undo


def test_a_reviewers_approval_waits_for_the_undo_window(
    undo_window, alice, rita, django_capture_on_commit_callbacks
):
    request = report(alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.REVIEWED  # nothing sent yet
    assert not LedgerEntry.objects.filter(pro=alice).exists()
    later = Schedule.objects.get(func="refunds.tasks.run_later")
    decided = request.decisions.get().decided_at
    assert later.next_run == decided + timedelta(seconds=60)
    # When the worker's scheduler runs it, the credit goes out as usual.
    tasks.run_later(*eval(later.args))  # noqa: S307 - django-q2 stores args as a literal
    request.refresh_from_db()
    assert request.status == Status.CREDITED
    assert LedgerEntry.objects.get(pro=alice).amount == request.lead.price


def test_undo_after_approving_puts_it_back_claimed_and_nothing_is_paid(
    undo_window, client_for, alice, rita, django_capture_on_commit_callbacks
):
    first = report(alice, hours_ago=10)
    second = report(alice, hours_ago=4)
    client = client_for(rita)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(first.pk), {"transition": "approve"})
    nxt = client.get(response.url)
    assert f"Approved request #{first.pk}" in nxt.text
    assert 'data-key="u"' in nxt.text
    assert urlparse(response.url).path == page(second.pk)
    undone = client.post(page(first.pk), {"transition": "undo"})
    assert undone.status_code == 302
    first.refresh_from_db()
    assert first.status == Status.IN_REVIEW and first.claimed_by == rita
    assert first.decisions.get().undone_at is not None
    assert not Credit.objects.filter(request=first).exists()
    # The scheduled release finds nothing to send.
    with django_capture_on_commit_callbacks(execute=True):
        services.release_decision(first.decisions.get().pk)
    assert not LedgerEntry.objects.filter(pro=alice).exists()
    actions = list(first.events.order_by("created_at", "id").values_list("action", flat=True))
    assert actions == ["submit", "approve", "undo"]
    assert list(problems_of(RefundRequest.objects.get(pk=first.pk))) == []
    # Decided again, it is paid once.
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(reviewer=rita, request_id=first.pk)
    decision = first.decisions.filter(undone_at__isnull=True).get()
    services.release_decision(decision.pk)
    first.refresh_from_db()
    assert first.status == Status.CREDITED
    assert LedgerEntry.objects.filter(pro=alice).count() == 1
    assert list(problems_of(RefundRequest.objects.get(pk=first.pk))) == []


def test_undo_after_denying_sends_no_notice(
    undo_window, alice, rita, django_capture_on_commit_callbacks
):
    request = report(alice)
    decision = services.deny(
        reviewer=rita, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )
    services.undo(reviewer=rita, request_id=request.pk)
    services.deliver_denial(decision.pk)
    assert not InboxMessage.objects.filter(recipient=alice).exists()
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_undo_is_refused_after_the_window(undo_window, alice, rita):
    request = report(alice)
    decision = services.approve(reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError, match="time to undo"):
        services.undo(
            reviewer=rita,
            request_id=request.pk,
            now=decision.decided_at + timedelta(seconds=60),
        )
    request.refresh_from_db()
    assert request.status == Status.REVIEWED


def test_only_the_reviewer_who_decided_can_undo(undo_window, alice, rita, ralph):
    request = report(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    with pytest.raises(services.RefundError, match="Only"):
        services.undo(reviewer=ralph, request_id=request.pk)


def test_undo_is_refused_once_the_credit_went_out(undo_window, alice, rita):
    request = report(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    services.post_credit(Credit.objects.get(request=request).pk)
    with pytest.raises(services.RefundError):
        services.undo(reviewer=rita, request_id=request.pk)
    assert LedgerEntry.objects.filter(pro=alice).count() == 1


def test_the_stuck_sweep_waits_out_the_undo_window(undo_window, alice, rita):
    request = report(alice)
    services.approve(reviewer=rita, request_id=request.pk)
    resumed = services.resume_stuck(older_than=timedelta(0))
    assert resumed["credits"] == []
