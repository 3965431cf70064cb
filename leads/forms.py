from django import forms

from leads.choices import Outcome
from leads.models import ContactAttempt, Lead

MAX_MESSAGE_LENGTH = 2000

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
