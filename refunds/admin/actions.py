"""The request page's decision bar, declared once.

Each row is one staff transition: the POST value, the permission the state machine guards it
with, the button, what its panel asks for and says, the service command it runs and what the
page says when it worked. The bar's buttons, the POST dispatch and the tests all read this
table; adding an action is adding a row (and its transition and command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms

from accounts.models import User
from refunds import permissions, services
from refunds.admin.forms import (
    DenialForm,
    KeepReversalForm,
    OverturnForm,
    PartialApprovalForm,
    RestoreCreditForm,
    ReversalForm,
)


@dataclass(frozen=True)
class ReviewerAction:
    name: str  # the transition's name, and the value of the POST's `transition` field
    permission: str  # the one the transition declares (a test checks they agree)
    verb: str  # in refusals: "Approve refused: …"
    label: str  # the button; {price} is the lead's price
    done: str  # the message once it worked; {pk}, {price}, {amount} (approved) and {pro}
    run: Callable[[User, int, dict[str, Any]], object]  # (person, request id, form data)
    form: type[forms.Form] | None = None  # None: one click; else a panel with these fields
    submit: str = ""  # the panel's button
    confirm: str = ""  # the panel's first line: what pressing it does; {price}
    style: str = ""  # approve or deny: the button's colour
    offers_templates: bool = False  # the panel starts from a denial template
    stays: bool = False  # after it, the page again (a claim) rather than the list
    # A reviewer's decision: after it, the next request of the queue as filtered (claimed),
    # with Undo offered for the undo window.
    advances: bool = False
    key: str = ""  # the request page's keyboard shortcut (review.js)


ACTIONS: tuple[ReviewerAction, ...] = (
    ReviewerAction(
        name="claim",
        permission=permissions.DECIDE,
        verb="Claim",
        label="Claim",
        done="You claimed request #{pk}.",
        run=lambda user, pk, data: services.claim(reviewer=user, request_id=pk),
        stays=True,
        key="c",
    ),
    ReviewerAction(
        name="release",
        permission=permissions.DECIDE,
        verb="Release",
        label="Release",
        done="Request #{pk} is back in the queue.",
        run=lambda user, pk, data: services.release(reviewer=user, request_id=pk),
        stays=True,
        key="c",
    ),
    ReviewerAction(
        name="undo",
        permission=permissions.DECIDE,
        verb="Undo",
        label="Undo",
        done="Took back your decision on request #{pk}: it is yours to decide again.",
        run=lambda user, pk, data: services.undo(reviewer=user, request_id=pk),
        stays=True,
        key="u",
    ),
    ReviewerAction(
        name="approve",
        permission=permissions.DECIDE,
        verb="Approve",
        label="Approve · credit {price}",
        done="Approved request #{pk}: {price} goes back to {pro}.",
        run=lambda user, pk, data: services.approve(reviewer=user, request_id=pk),
        style="approve",
        advances=True,
        key="a",
    ),
    ReviewerAction(
        name="approve_part",
        permission=permissions.DECIDE,
        verb="Approve part",
        label="Approve part…",
        done="Approved {amount} of {price} on request #{pk}; the pro will be told why.",
        run=lambda user, pk, data: services.approve_part(reviewer=user, request_id=pk, **data),
        form=PartialApprovalForm,
        submit="Approve this part",
        confirm="Credit part of the {price}: the pro reads the amount and your reason.",
        style="approve",
        advances=True,
    ),
    ReviewerAction(
        name="overturn",
        permission=permissions.RESOLVE_DISPUTE,
        verb="Overturn",
        label="Overturn…",
        done="Overturned: request #{pk} is approved and will be credited.",
        run=lambda user, pk, data: services.overturn(agent=user, request_id=pk, **data),
        form=OverturnForm,
        submit="Overturn and credit",
        confirm="Approve after all: {price}, or part of it, goes back to the pro, with this note.",
        style="approve",
    ),
    ReviewerAction(
        name="deny",
        permission=permissions.DECIDE,
        verb="Deny",
        label="Deny…",
        done="Denied request #{pk}; the pro will be told.",
        run=lambda user, pk, data: services.deny(reviewer=user, request_id=pk, **data),
        form=DenialForm,
        submit="Deny and notify the pro",
        confirm="The pro receives this in their Inbox and by email. Edit it to fit this lead.",
        style="deny",
        offers_templates=True,
        advances=True,
        key="d",
    ),
    ReviewerAction(
        name="uphold",
        permission=permissions.RESOLVE_DISPUTE,
        verb="Uphold",
        label="Uphold…",
        done="Upheld the denial of request #{pk}.",
        run=lambda user, pk, data: services.uphold(agent=user, request_id=pk, **data),
        form=DenialForm,
        submit="Uphold and notify the pro",
        confirm="The pro receives this in their Inbox. Edit it to fit this lead.",
        style="deny",
        offers_templates=True,
    ),
    ReviewerAction(
        name="reverse_credit",
        permission=permissions.RESOLVE_DISPUTE,
        verb="Reverse the credit",
        label="Reverse the credit…",
        done="Reversed the credit of request #{pk}: it is taken back from {pro}'s balance.",
        run=lambda user, pk, data: services.reverse_credit(agent=user, request_id=pk, **data),
        form=ReversalForm,
        submit="Reverse and tell the pro",
        confirm=(
            "The credit is taken back from the pro's prepaid balance (a card is never charged), "
            "and the pro reads this explanation in their Inbox."
        ),
        style="deny",
    ),
    ReviewerAction(
        name="restore_credit",
        permission=permissions.RESOLVE_DISPUTE,
        verb="Restore the credit",
        label="Restore the credit…",
        done="Restored the credit of request #{pk}: it is back on {pro}'s balance.",
        run=lambda user, pk, data: services.restore_credit(agent=user, request_id=pk, **data),
        form=RestoreCreditForm,
        submit="Restore and tell the pro",
        confirm=(
            "The pro disputed the reversal: the amount taken back goes back on their prepaid "
            "balance, and they read this note in their Inbox."
        ),
        style="approve",
    ),
    ReviewerAction(
        name="keep_reversal",
        permission=permissions.RESOLVE_DISPUTE,
        verb="Keep the reversal",
        label="Keep the reversal…",
        done="Kept the reversal of request #{pk}; {pro} will be told why.",
        run=lambda user, pk, data: services.keep_reversal(agent=user, request_id=pk, **data),
        form=KeepReversalForm,
        submit="Keep it and tell the pro",
        confirm="The pro disputed the reversal: it stands, and they read why in their Inbox.",
        style="deny",
    ),
)
BY_NAME = {action.name: action for action in ACTIONS}


@dataclass(frozen=True)
class Button:
    """One action of the bar as the page shows it for a request."""

    action: ReviewerAction
    label: str
    confirm: str
    form: forms.Form | None
