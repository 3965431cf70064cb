"""Quality: how often decisions are disputed and overturned, by whom and with which wording,
and how often reviewers disagree with the automatic approvals they spot-check."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from refunds.analytics import svg
from refunds.analytics.figures import Figure, Page, Section, Table, share_text
from refunds.analytics.period import Period
from refunds.choices import DecisionKind, DisputeStatus, Outcome
from refunds.models import Decision, DenialTemplate, SpotCheck
from refunds.policy import RULE_LABELS

# The decisions a dispute can follow: a reviewer's and the rules'. Support's answers to disputes
# are final, so they are not counted as decisions here.
FIRST_KINDS = (DecisionKind.REVIEW, DecisionKind.AUTOMATIC, DecisionKind.AUTO_APPROVAL)
KIND_LABELS = {
    DecisionKind.REVIEW: "Reviewers",
    DecisionKind.AUTOMATIC: "Automatic denial (peer refund rate)",
    DecisionKind.AUTO_APPROVAL: "Automatic approval (rules)",
}
NO_TEMPLATE = "Edited / no template"

# A request is disputed at most once, and only after its denial; that denial is the request's
# one standing first decision, so a dispute is found from the decision through its request.
DENIED = Q(outcome=Outcome.DENIED)
DISPUTED = DENIED & Q(request__dispute__isnull=False)
ANSWERED = DENIED & Q(request__dispute__status__in=(DisputeStatus.OVERTURNED, DisputeStatus.UPHELD))
OVERTURNED = DENIED & Q(request__dispute__status=DisputeStatus.OVERTURNED)
COUNTS = {
    "decisions": Count("id"),
    "denials": Count("id", filter=DENIED),
    "disputed": Count("id", filter=DISPUTED),
    "answered": Count("id", filter=ANSWERED),
    "overturned": Count("id", filter=OVERTURNED),
}
COHORT = (
    "Decisions made in the period, and the disputes opened on them since (a pro may still "
    "dispute a recent denial). Decisions taken back with Undo are left out."
)


def decisions(period: Period) -> QuerySet[Decision]:
    """Reviewers' and the rules' standing decisions made in the period."""
    return Decision.objects.standing().filter(
        period.requests("request__"),
        kind__in=FIRST_KINDS,
        decided_at__gte=period.start,
        decided_at__lt=period.end,
    )


def build(period: Period, now: datetime) -> Page:
    return Page(
        "Quality",
        [_disputes(period), _by_reviewer(period), _by_template(period), _spot_checks(period)],
    )


def per_100(part: int, whole: int) -> float | str:
    """Part per 100 of whole to one decimal (a rate in %, too); empty with nothing to count."""
    return round(100 * part / whole, 1) if whole else ""


def _disputes(period: Period) -> Section:
    by_kind = {
        row["kind"]: row
        for row in decisions(period).values("kind").annotate(**COUNTS).order_by("kind")
    }
    empty = dict.fromkeys(COUNTS, 0)
    total = {key: sum(row[key] for row in by_kind.values()) for key in COUNTS}

    def line(label: str, found: dict) -> list:
        disputed, decided, denials = found["disputed"], found["decisions"], found["denials"]
        return [
            label,
            decided,
            denials,
            disputed,
            per_100(disputed, decided),
            per_100(disputed, denials),
        ]

    rows = [line(KIND_LABELS[kind], by_kind.get(kind, empty)) for kind in FIRST_KINDS]
    rows.append(line("All", total))
    figures = [
        Figure(
            "Disputes per 100 decisions",
            _number(per_100(total["disputed"], total["decisions"])),
            f"{total['disputed']} disputes on {total['decisions']} decisions",
        ),
        Figure(
            "Disputes per 100 denials",
            _number(per_100(total["disputed"], total["denials"])),
            f"{total['denials']} denials",
        ),
        Figure(
            "Overturned on dispute",
            share_text(total["overturned"], total["answered"]),
            f"{total['overturned']} of {total['answered']} answered",
        ),
        Figure("Disputes still open", str(total["disputed"] - total["answered"])),
    ]
    return Section(
        "Disputes per 100 decisions",
        figures=figures,
        note=COHORT,
        tables=[
            Table(
                "disputes_by_kind",
                "Decisions and disputes, by who decided",
                [
                    "decided by",
                    "decisions",
                    "denials",
                    "disputed",
                    "disputes per 100 decisions",
                    "disputes per 100 denials",
                ],
                rows,
                note="Only denials can be disputed; approvals count among the decisions.",
            )
        ],
    )


def _reviewer_name(row: dict) -> str:
    if row["decided_by"] is None:
        return KIND_LABELS[row["kind"]]
    full = f"{row['decided_by__first_name']} {row['decided_by__last_name']}".strip()
    return full or row["decided_by__email"]


def _by_reviewer(period: Period) -> Section:
    found = list(
        decisions(period)
        .filter(kind__in=(DecisionKind.REVIEW, DecisionKind.AUTOMATIC))
        .values(
            "kind",
            "decided_by",
            "decided_by__first_name",
            "decided_by__last_name",
            "decided_by__email",
        )
        .annotate(**COUNTS)
        .order_by("-denials", "decided_by__email")
    )
    found.sort(key=lambda row: row["decided_by"] is None)  # the rule after the people
    names = [_reviewer_name(row) for row in found]
    rows = [
        [
            name,
            row["decisions"],
            row["denials"],
            row["disputed"],
            per_100(row["disputed"], row["decisions"]),
            row["answered"],
            row["overturned"],
            per_100(row["overturned"], row["answered"]),
        ]
        for name, row in zip(names, found, strict=True)
    ]
    chart = _overturn_chart("Denials overturned on dispute, by who denied", names, found)
    return Section(
        "Overturned, by reviewer",
        chart=chart,
        note="The reviewer whose denial was disputed; support's answer decides the overturn. "
        "Automatic approvals cannot be disputed and are not listed.",
        tables=[
            Table(
                "overturn_by_reviewer",
                "Disputes and overturns, by who decided",
                [
                    "decided by",
                    "decisions",
                    "denials",
                    "disputed",
                    "disputes per 100 decisions",
                    "answered",
                    "overturned",
                    "overturn rate %",
                ],
                rows,
            )
        ],
    )


def _overturn_chart(title: str, names: list[str], found: list[dict]) -> str:
    """Overturned out of answered disputes per row; none drawn when nothing was answered."""
    if not any(row["answered"] for row in found):
        return ""
    return svg.share_hbars(
        title,
        names,
        [row["overturned"] for row in found],
        [row["answered"] for row in found],
        x_label="Overturned, share of answered disputes",
    )


def _by_template(period: Period) -> Section:
    # A denial counts for the template whose wording it kept word for word (the picker fills it
    # in; clean_denial only trims it). Reworded denials, or wording from before a template was
    # edited, match none.
    template = DenialTemplate.objects.filter(explanation=OuterRef("explanation")).order_by("title")
    found = list(
        decisions(period)
        .filter(kind=DecisionKind.REVIEW, outcome=Outcome.DENIED)
        .annotate(template=Subquery(template.values("title")[:1]))
        .values("template")
        .annotate(**COUNTS)
        .order_by("-denials", "template")
    )
    # The unmatched denials last, whatever their number.
    found.sort(key=lambda row: row["template"] is None)
    names = [row["template"] or NO_TEMPLATE for row in found]
    rows = [
        [
            name,
            row["denials"],
            row["disputed"],
            per_100(row["disputed"], row["denials"]),
            row["answered"],
            row["overturned"],
            per_100(row["overturned"], row["answered"]),
        ]
        for name, row in zip(names, found, strict=True)
    ]
    chart = _overturn_chart("Denials overturned on dispute, by denial template", names, found)
    return Section(
        "Overturned, by denial template",
        chart=chart,
        note="Reviewers' denials, matched to the template whose explanation they kept word for "
        f"word. An explanation edited before sending, or a template edited since, counts as "
        f"“{NO_TEMPLATE}”.",
        tables=[
            Table(
                "overturn_by_template",
                "Disputes and overturns, by denial template",
                [
                    "template",
                    "denials",
                    "disputed",
                    "disputes per 100 denials",
                    "answered",
                    "overturned",
                    "overturn rate %",
                ],
                rows,
            )
        ],
    )


def _spot_checks(period: Period) -> Section:
    checks = SpotCheck.objects.filter(
        period.requests("decision__request__"),
        checked_at__gte=period.start,
        checked_at__lt=period.end,
        agreed__isnull=False,
    )
    counts = {
        "checked": Count("id"),
        "agreeing": Count("id", filter=Q(agreed=True)),
        "disagreeing": Count("id", filter=Q(agreed=False)),
    }
    total = checks.aggregate(**counts)
    found = list(checks.values("decision__rule").annotate(**counts).order_by("decision__rule"))
    names = [RULE_LABELS.get(row["decision__rule"], row["decision__rule"] or "—") for row in found]
    rows = [
        [
            name,
            row["checked"],
            row["agreeing"],
            row["disagreeing"],
            per_100(row["disagreeing"], row["checked"]),
        ]
        for name, row in zip(names, found, strict=True)
    ]
    if rows:
        all_rules = [total["checked"], total["agreeing"], total["disagreeing"]]
        rows.append(["All rules", *all_rules, per_100(total["disagreeing"], total["checked"])])
    chart = ""
    if found:
        chart = svg.share_hbars(
            "Reviewers disagreeing with automatic approvals, by rule",
            names,
            [row["disagreeing"] for row in found],
            [row["checked"] for row in found],
            x_label="Disagreed, share of spot checks",
        )
    return Section(
        "Spot checks of automatic approvals",
        figures=[
            Figure(
                "Disagreement rate",
                share_text(total["disagreeing"], total["checked"]),
                f"{total['disagreeing']} of {total['checked']} checked",
            ),
            Figure("Checked in the period", str(total["checked"])),
        ],
        chart=chart,
        note="Spot checks answered in the period, by the rule that approved.",
        tables=[
            Table(
                "spot_checks_by_rule",
                "Spot checks, by rule",
                ["rule", "checked", "agreed", "disagreed", "disagreement %"],
                rows,
            )
        ],
    )


def _number(value) -> str:
    return "—" if value == "" else f"{value:g}"
