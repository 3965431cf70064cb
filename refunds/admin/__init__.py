"""The back office: the reviewers' queue, the request page, support's disputes queue and the
records the product writes. One module per screen; importing them here runs the registrations.
The home (home.py) is the site's index, installed from config/urls.py.

Admin classes stay thin. Every change of state goes through refunds.services, which checks
permission and state again under the row lock; the page only hides buttons that would be refused.
"""

from refunds.admin.disputes import DisputeAdmin, ReversalDisputeAdmin
from refunds.admin.queue import RefundRequestAdmin
from refunds.admin.records import CreditAdmin, DecisionAdmin, DenialTemplateAdmin, RefundEventAdmin
from refunds.admin.spot_checks import SpotCheckAdmin

__all__ = [
    "CreditAdmin",
    "DecisionAdmin",
    "DenialTemplateAdmin",
    "DisputeAdmin",
    "RefundEventAdmin",
    "RefundRequestAdmin",
    "ReversalDisputeAdmin",
    "SpotCheckAdmin",
]
