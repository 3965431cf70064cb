from django import forms

from refunds.choices import Reason
from refunds.services import MAX_DETAILS_LENGTH, MAX_NOTE_LENGTH


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label="What was wrong with this lead?",
        choices=Reason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the reason that fits this lead.",
            "invalid_choice": "Choose one of the listed reasons.",
        },
    )
    details = forms.CharField(
        label="Details for the reviewer",
        required=False,
        max_length=MAX_DETAILS_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional. What the customer said, what you tried, anything that helps.",
        error_messages={
            "max_length": "Keep the details to %(limit_value)d characters or fewer "
            "(you wrote %(show_value)d).",
        },
    )

    def full_clean(self) -> None:
        super().full_clean()
        # A field in error says so to screen readers, and points at its message.
        if self.is_bound and "details" in self.errors:
            self.fields["details"].widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": "error_1_id_details"}
            )


class DisputeForm(forms.Form):
    message = forms.CharField(
        label="Why should we look again?",
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Tell us why you think the decision is wrong.",
            "max_length": "Keep your reply to %(limit_value)d characters or fewer "
            "(you wrote %(show_value)d).",
        },
    )
