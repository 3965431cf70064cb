from django.urls import path

from refunds import views

urlpatterns = [
    path("messages/<int:lead_id>/report/", views.report, name="report"),
    path("requests/<int:request_id>/withdraw/", views.withdraw_request, name="withdraw_request"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:message_id>/", views.inbox_message, name="inbox_message"),
    path("inbox/<int:message_id>/dispute/", views.dispute, name="dispute"),
    path("credits/", views.credits, name="credits"),
]
