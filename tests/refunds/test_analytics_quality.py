"""Analytics → Quality: disputes per 100 decisions, overturns by reviewer and by denial template,
spot-check disagreement; each from decisions with known answers, on the page and in the CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from refunds import services
from refunds.analytics import quality
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, DisputeStatus, Outcome, Status
from refunds.models import Decision, DenialTemplate, Dispute, SpotCheck
from tests.factories import MarketFactory, ProFactory, RefundRequestFactory, StaffFactory
from tests.refunds.staff_flows import (
    EXPLANATION,
    GUIDANCE,
    chatty_lead,
    denied,
    disputed,
    run_on_commit,
)

pytestmark = pytest.mark.django_db

URL = reverse("analytics:page", args=["quality"])
KIND_ROWS = ["Reviewers", "Automatic denial (peer refund rate)", "Automatic approval (rules)"]


def this_week(**kw) -> Period:
    today = timezone.now().date()
    return Period(today - timedelta(days=6), today, **kw)


def section(page, title):
    return next(s for s in page.sections if s.title == title)


def figure(page, label):
    return next(f for s in page.sections for f in s.figures if f.label == label)


def rows(page, name):
    return page.table(name).rows


def overturned(capture, pro, reviewer, support):
    request = disputed(capture, pro, reviewer)
    services.overturn(agent=support, request_id=request.pk, note="You were right.")
    return request


def upheld(capture, pro, reviewer, support):
    request = disputed(capture, pro, reviewer)
    services.uphold(
        agent=support, request_id=request.pk, explanation=EXPLANATION, guidance=GUIDANCE
    )
    return request


def approved(pro, reviewer):
    request = services.submit_report(pro=pro, lead_id=chatty_lead(pro).pk, reason="wrong_job")
    services.approve(reviewer=reviewer, request_id=request.pk)
    return request


def automatic(outcome=Outcome.DENIED, *, decided_at=None, rule="", **request):
    """A rule's decision stored directly (the peer-rate denial needs a whole market)."""
    status = Status.DENIED if outcome == Outcome.DENIED else Status.CREDITED
    kind = DecisionKind.AUTOMATIC if outcome == Outcome.DENIED else DecisionKind.AUTO_APPROVAL
    return Decision.objects.create(
        request=RefundRequestFactory(status=status, **request),
        kind=kind,
        outcome=outcome,
        rule=rule,
        explanation="Your refund rate is far above your market's.",
        guidance="Report only leads that fail the policy.",
        decided_at=decided_at or timezone.now(),
    )


def dispute(decision, status=DisputeStatus.OPEN):
    now = timezone.now()
    return Dispute.objects.create(
        request=decision.request,
        message="Please look again.",
        opened_at=now,
        due_at=now + timedelta(hours=48),
        status=status,
    )


# Disputes per 100 decisions


def test_an_empty_period_counts_nothing_and_divides_by_nothing():
    page = quality.build(this_week(), timezone.now())
    assert figure(page, "Disputes per 100 decisions").value == "—"
    assert figure(page, "Overturned on dispute").value == "—"
    assert figure(page, "Disagreement rate").value == "—"
    assert rows(page, "disputes_by_kind") == [
        [label, 0, 0, 0, "", ""] for label in [*KIND_ROWS, "All"]
    ]
    assert rows(page, "overturn_by_reviewer") == []
    assert rows(page, "overturn_by_template") == []
    assert rows(page, "spot_checks_by_rule") == []
    assert all(not s.chart for s in page.sections)


def test_a_single_disputed_denial(alice, rita, django_capture_on_commit_callbacks):
    disputed(django_capture_on_commit_callbacks, alice, rita)
    page = quality.build(this_week(), timezone.now())
    assert figure(page, "Disputes per 100 decisions").value == "100"
    assert figure(page, "Disputes still open").value == "1"
    assert rows(page, "disputes_by_kind")[0] == ["Reviewers", 1, 1, 1, 100.0, 100.0]


def test_disputes_per_100_decisions_by_who_decided(
    alice, bob, rita, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    disputed(capture, alice, rita)
    denied(capture, alice, rita)
    denied(capture, bob, rita)
    approved(bob, rita)
    dispute(automatic())
    automatic()
    automatic(Outcome.APPROVED, rule="duplicate")
    automatic(Outcome.APPROVED, rule="duplicate")
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "disputes_by_kind") == [
        ["Reviewers", 4, 3, 1, 25.0, 33.3],
        ["Automatic denial (peer refund rate)", 2, 2, 1, 50.0, 50.0],
        ["Automatic approval (rules)", 2, 0, 0, 0.0, ""],
        ["All", 8, 5, 2, 25.0, 40.0],
    ]
    assert figure(page, "Disputes per 100 decisions").value == "25"
    assert figure(page, "Disputes per 100 decisions").note == "2 disputes on 8 decisions"
    assert figure(page, "Disputes per 100 denials").value == "40"


def test_undone_earlier_and_supports_decisions_are_not_counted(
    settings, alice, rita, sam, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    upheld(capture, alice, rita, sam)  # support's answer is not a decision here
    settings.REFUND_POLICY = {**settings.REFUND_POLICY, "UNDO_SECONDS": 60}
    request = services.submit_report(pro=alice, lead_id=chatty_lead(alice).pk, reason="wrong_job")
    services.approve(reviewer=rita, request_id=request.pk)
    services.undo(reviewer=rita, request_id=request.pk)  # taken back: not counted
    automatic(decided_at=timezone.now() - timedelta(days=10))  # before the period
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "disputes_by_kind")[-1] == ["All", 1, 1, 1, 100.0, 100.0]


# Overturn rate, by reviewer and by template


def test_overturn_rate_by_the_reviewer_whose_denial_was_disputed(
    alice, bob, rita, ralph, sam, sue, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    overturned(capture, alice, rita, sam)
    upheld(capture, alice, rita, sue)
    disputed(capture, bob, rita)  # not answered yet
    approved(bob, rita)
    overturned(capture, bob, ralph, sam)
    dispute(automatic(), DisputeStatus.UPHELD)
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "overturn_by_reviewer") == [
        ["rita@example.test", 4, 3, 3, 75.0, 2, 1, 50.0],
        ["ralph@example.test", 1, 1, 1, 100.0, 1, 1, 100.0],
        ["Automatic denial (peer refund rate)", 1, 1, 1, 100.0, 1, 0, 0.0],
    ]
    assert figure(page, "Overturned on dispute").value == "50%"
    assert figure(page, "Overturned on dispute").note == "2 of 4 answered"
    assert figure(page, "Disputes still open").value == "1"
    chart = section(page, "Overturned, by reviewer").chart
    assert "rita@example.test 50% (1 of 2)" in chart and "<title" in chart


def test_a_reviewers_full_name_is_shown(alice, rita, django_capture_on_commit_callbacks):
    rita.first_name, rita.last_name = "Rita", "Reyes"
    rita.save(update_fields=("first_name", "last_name"))
    denied(django_capture_on_commit_callbacks, alice, rita)
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "overturn_by_reviewer")[0][0] == "Rita Reyes"


def deny_with(capture, pro, reviewer, explanation):
    request = services.submit_report(pro=pro, lead_id=chatty_lead(pro).pk, reason="wrong_job")
    run_on_commit(
        capture,
        services.deny,
        reviewer=reviewer,
        request_id=request.pk,
        explanation=explanation,
        guidance=GUIDANCE,
    )
    return request


def test_overturn_rate_by_denial_template_matches_the_wording_kept(
    alice, rita, sam, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    no_reply = DenialTemplate.objects.get(title="No reply from the customer")
    other_pro = DenialTemplate.objects.get(title="Customer chose another pro")
    kept = [deny_with(capture, alice, rita, f"  {no_reply.explanation}\n") for _ in range(3)]
    deny_with(capture, alice, rita, other_pro.explanation)
    edited = deny_with(capture, alice, rita, no_reply.explanation + " Sorry!")
    for request in (*kept[:2], edited):
        services.open_dispute(pro=alice, request_id=request.pk, message="Look again, please.")
    services.overturn(agent=sam, request_id=kept[0].pk, note="Agreed.")
    services.uphold(
        agent=sam, request_id=kept[1].pk, explanation=no_reply.explanation, guidance=GUIDANCE
    )
    services.overturn(agent=sam, request_id=edited.pk, note="Agreed.")
    # Editing a template afterwards: the denials sent with its old wording match it no more.
    DenialTemplate.objects.filter(pk=other_pro.pk).update(explanation="New wording.")
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "overturn_by_template") == [
        ["No reply from the customer", 3, 2, 66.7, 2, 1, 50.0],
        [quality.NO_TEMPLATE, 2, 1, 50.0, 1, 1, 100.0],
    ]
    note = section(page, "Overturned, by denial template").note
    assert "edited" in note and quality.NO_TEMPLATE in note


def test_automatic_denials_are_not_counted_by_template(
    alice, rita, django_capture_on_commit_callbacks
):
    automatic()
    denied(django_capture_on_commit_callbacks, alice, rita)  # staff_flows' own wording
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "overturn_by_template") == [[quality.NO_TEMPLATE, 1, 0, 0.0, 0, 0, ""]]


# Spot checks


def spot_check(rule, agreed, *, reviewer, at=None, **request):
    check = SpotCheck.objects.create(decision=automatic(Outcome.APPROVED, rule=rule, **request))
    if agreed is not None:
        services.check_automatic_approval(
            reviewer=reviewer,
            spot_check_id=check.pk,
            agreed=agreed,
            note="" if agreed else "The earlier lead was another job.",
            now=at,
        )
    return check


def test_spot_check_disagreement_overall_and_by_rule(rita):
    spot_check("duplicate", True, reviewer=rita)
    spot_check("duplicate", True, reviewer=rita)
    spot_check("duplicate", False, reviewer=rita)
    spot_check("outside_services", True, reviewer=rita)
    spot_check("duplicate", None, reviewer=rita)  # waiting: not counted
    spot_check("duplicate", False, reviewer=rita, at=timezone.now() - timedelta(days=9))
    page = quality.build(this_week(), timezone.now())
    assert rows(page, "spot_checks_by_rule") == [
        ["Duplicate lead", 3, 2, 1, 33.3],
        ["Outside the pro's services", 1, 1, 0, 0.0],
        ["All rules", 4, 3, 1, 25.0],
    ]
    assert figure(page, "Disagreement rate").value == "25%"
    assert figure(page, "Disagreement rate").note == "1 of 4 checked"


def test_a_single_spot_check(rita):
    spot_check("duplicate", False, reviewer=rita)
    page = quality.build(this_week(), timezone.now())
    assert figure(page, "Disagreement rate").value == "100%"
    assert rows(page, "spot_checks_by_rule")[-1] == ["All rules", 1, 0, 1, 100.0]


def test_the_market_filter_applies_to_every_figure(rita, django_capture_on_commit_callbacks):
    austin, denver = MarketFactory(name="Austin, TX"), MarketFactory(name="Denver, CO")
    in_denver = ProFactory(profile__market=denver)
    disputed(django_capture_on_commit_callbacks, ProFactory(profile__market=austin), rita)
    denied(django_capture_on_commit_callbacks, in_denver, rita)
    spot_check("duplicate", False, reviewer=rita, lead__pro=ProFactory(profile__market=austin))
    spot_check("duplicate", True, reviewer=rita, lead__pro=in_denver)
    page = quality.build(this_week(market=denver), timezone.now())
    # rita's denial and the automatic approval the spot check is of
    assert rows(page, "disputes_by_kind")[-1] == ["All", 2, 1, 0, 0.0, 0.0]
    assert rows(page, "overturn_by_reviewer") == [["rita@example.test", 1, 1, 0, 0.0, 0, 0, ""]]
    assert rows(page, "spot_checks_by_rule")[-1] == ["All rules", 1, 1, 0, 0.0]


def test_days_are_utc_days(alice, rita):
    day = datetime(2026, 3, 2, tzinfo=UTC)
    automatic(decided_at=day - timedelta(seconds=1))
    automatic(decided_at=day)
    page = quality.build(Period(day.date(), day.date()), day + timedelta(hours=12))
    assert rows(page, "disputes_by_kind")[-1][1] == 1


# The page


def test_the_page_shows_every_section_and_chart(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    overturned(django_capture_on_commit_callbacks, alice, rita, sam)
    spot_check("duplicate", False, reviewer=rita)
    response = client_for(rita).get(URL, {"range": "7"})
    assert response.status_code == 200
    html = response.text
    assert "Analytics: Quality" in html
    for title in (
        "Disputes per 100 decisions",
        "Overturned, by reviewer",
        "Overturned, by denial template",
        "Spot checks of automatic approvals",
    ):
        assert title in html
    assert html.count('<svg class="rq-chart"') == 3
    page = response.context["page"]
    assert page.table("overturn_by_reviewer").rows == [
        ["rita@example.test", 1, 1, 1, 100.0, 1, 1, 100.0]
    ]
    assert "<td>100.0</td>" in html


def test_each_table_downloads_as_csv_with_the_same_figures(
    client_for, alice, rita, sam, django_capture_on_commit_callbacks
):
    overturned(django_capture_on_commit_callbacks, alice, rita, sam)
    client = client_for(rita)
    page = client.get(URL, {"range": "7"}).context["page"]
    names = [t.name for s in page.sections for t in s.tables]
    assert len(names) == len(set(names)) == 4
    for name in names:
        response = client.get(URL, {"range": "7", "csv": name})
        assert response["Content-Type"].startswith("text/csv")
        found = list(csv.reader(io.StringIO(response.content.decode())))
        table = page.table(name)
        assert found[0] == table.columns
        assert found[1:] == [[str(cell) for cell in row] for row in table.rows]
    found = list(
        csv.reader(
            io.StringIO(client.get(URL, {"range": "7", "csv": "disputes_by_kind"}).content.decode())
        )
    )
    assert found[1] == ["Reviewers", "1", "1", "1", "100.0", "100.0"]


def test_pros_and_staff_without_the_permission_do_not_see_it(client_for, alice, sam):
    assert client_for(sam).get(URL).status_code == 200
    assert client_for(StaffFactory()).get(URL, {"csv": "disputes_by_kind"}).status_code == 403
    response = client_for(alice).get(URL)
    assert response.status_code == 302 and "/admin/login/" in response.url
