"""The forms of the request page and the bulk denial, and the denial templates they offer."""

from __future__ import annotations

from django import forms

from refunds import services
from refunds.choices import Reason
from refunds.models import DenialTemplate


class DenialForm(forms.Form):
    """The explanation and guidance a pro receives with a denial (or an upheld dispute)."""

    explanation = forms.CharField(
        label="Explanation to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    guidance = forms.CharField(
        label="Guidance for future leads",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OverturnForm(forms.Form):
    note = forms.CharField(
        label="Note to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="We looked at your reply and agree: this lead should be refunded.",
    )


def ordered_templates(reasons: set[str]) -> list[tuple[str, list[DenialTemplate]]]:
    """Denial templates grouped for the picker: the request's reason first, then general ones."""
    groups: dict[str, list[DenialTemplate]] = {"reason": [], "general": [], "other": []}
    for template in DenialTemplate.objects.all():
        if template.reason and template.reason in reasons:
            groups["reason"].append(template)
        elif not template.reason:
            groups["general"].append(template)
        else:
            groups["other"].append(template)
    labels = {
        "reason": "For "
        + (
            " / ".join(Reason(r).label.lower() for r in sorted(reasons))
            if reasons
            else "this reason"
        ),
        "general": "Any reason",
        "other": "Other reasons",
    }
    return [(labels[key], items) for key, items in groups.items() if items]


def first_template(groups: list[tuple[str, list[DenialTemplate]]]) -> DenialTemplate | None:
    return groups[0][1][0] if groups else None
