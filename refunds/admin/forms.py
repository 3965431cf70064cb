"""The forms of the request page and the bulk denial, and the denial templates they offer."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from refunds import policy, services
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


OTHER_AMOUNT = "amount"
SHARE_CHOICES = [(str(p), f"{p} %") for p in policy.PARTIAL_SHARES] + [
    (OTHER_AMOUNT, "Another amount")
]


class PartForm(forms.Form):
    """How much of the price: a share (25 %, 50 %, 75 %, 100 %) or another amount. The money
    rules (more than nothing, no more than the price, a reason for a part) are the service's,
    which knows the price: services.approve_part and services.overturn."""

    share = forms.ChoiceField(
        label="How much of the price",
        choices=SHARE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how much of the price to credit."},
    )
    amount = forms.DecimalField(
        label="Amount ($)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
        error_messages={
            "min_value": "The amount must be more than $0.00.",
            "max_decimal_places": "Give the amount in whole cents.",
        },
    )

    def clean(self) -> dict:
        data = super().clean()
        share, amount = data.get("share"), data.get("amount")
        if share is None:
            return data  # the field's own error says what is missing
        if share == "":  # not asked for (Overturn): the whole price
            if amount is not None:
                self.add_error("amount", "Choose “Another amount” to credit an amount you type.")
            data["share"] = data["amount"] = None
        elif share == OTHER_AMOUNT:
            if amount is None and "amount" not in self.errors:
                self.add_error("amount", "Type the amount to credit.")
            data["share"] = None
        elif amount is not None:
            self.add_error("amount", "Choose “Another amount” to credit an amount you type.")
        else:
            data["share"] = int(share)
            data["amount"] = None
        return data


class PartialApprovalForm(PartForm):
    """Approve part of the price, with the reason the pro reads."""

    reason = forms.CharField(
        label="Why part of the price (the pro reads this)",
        max_length=services.MAX_NOTE_LENGTH,
        required=False,  # needed for less than the whole price: the service says so
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OverturnForm(PartForm):
    """Support's overturn: the whole price unless they choose a part (then the note says why)."""

    share = forms.ChoiceField(
        label="How much of the price",
        choices=SHARE_CHOICES,
        widget=forms.RadioSelect,
        initial="100",
        required=False,  # a POST without it (an older page, a script) credits the whole price
    )
    note = forms.CharField(
        label="Note to the pro (for a part, why)",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="We looked at your reply and agree: this lead should be refunded.",
    )


class ReversalForm(forms.Form):
    explanation = forms.CharField(
        label="Explanation to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The pro reads this in their Inbox: what the thread after the credit shows.",
    )


class KeepReversalForm(forms.Form):
    explanation = forms.CharField(
        label="Explanation to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The pro reads this in their Inbox: why the reversal stands after their reply.",
    )


class RestoreCreditForm(forms.Form):
    note = forms.CharField(
        label="Note to the pro",
        max_length=services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="We looked at your reply and agree: the refund should stand.",
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
