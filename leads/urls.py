from django.urls import path

from leads import views

urlpatterns = [
    path("messages/", views.thread_list, name="messages"),
    path("messages/<int:lead_id>/", views.thread, name="lead_thread"),
    path("messages/<int:lead_id>/send/", views.send_message, name="send_message"),
    path("messages/<int:lead_id>/calls/", views.log_call, name="log_call"),
]
