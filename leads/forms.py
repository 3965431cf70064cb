from django import forms

from leads.access import ThreadFilter
from leads.choices import Outcome
from leads.models import ContactAttempt, Lead

MAX_MESSAGE_LENGTH = 2000
MAX_SEARCH_LENGTH = 100
ALL_THREADS = "all"

# How a call can end; "delivered" and "bounced" describe messages, not calls.
CALL_OUTCOMES = [
    (o.value, o.label)
    for o in (
        Outcome.ANSWERED,
        Outcome.NO_ANSWER,
        Outcome.VOICEMAIL,
        Outcome.DISCONNECTED,
        Outcome.WRONG_NUMBER,
    )
]


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "Write a message…"}),
        error_messages={
            "required": "Write something before sending.",
            "max_length": "Keep messages to %(limit_value)d characters or fewer "
            "(this one has %(show_value)d).",
        },
    )


class LogCallForm(forms.Form):
    outcome = forms.ChoiceField(
        label="How did the call go?",
        choices=CALL_OUTCOMES,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how the call went.",
            "invalid_choice": "Choose one of the listed call outcomes.",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=ContactAttempt._meta.get_field("note").max_length,
        widget=forms.TextInput(attrs={"placeholder": "Optional, e.g. “said to call back Monday”"}),
    )

    def __init__(self, *args, lead: Lead, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lead = lead

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.lead.customer_phone:
            raise forms.ValidationError(
                "This lead has no phone number, so there is no call to log."
            )
        return cleaned


class ThreadSearchForm(forms.Form):
    """Messages' search box and filter, read from the URL (?q=…&show=…)."""

    q = forms.CharField(
        label="Search by name, phone or email",
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        error_messages={
            "max_length": "Search for %(limit_value)d characters or fewer "
            "(this search has %(show_value)d). Nothing was searched.",
        },
    )
    show = forms.ChoiceField(label="Show", required=False)

    def __init__(self, *args, filters: list[ThreadFilter], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {f.value: f for f in filters}
        choices = [(ALL_THREADS, "All"), *((f.value, f.label) for f in filters)]
        self.fields["show"].choices = choices
        self.fields["show"].error_messages["invalid_choice"] = (
            "There is no such filter: choose "
            + ", ".join(label for _, label in choices)
            + ". All threads are shown."
        )

    def wanted(self) -> tuple[str, str]:
        """The search text and filter asked for; bad input asks for nothing (errors say why)."""
        if not self.is_valid():
            return "", ALL_THREADS
        return self.cleaned_data["q"], self.cleaned_data["show"] or ALL_THREADS
