"""Messages as an inbox: each thread's last activity (indexed for the list's order), when the
customer's last message arrived and when the pro last opened the thread."""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest, Now


def fill_activity_and_read(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Message = apps.get_model("leads", "Message")
    ContactAttempt = apps.get_model("leads", "ContactAttempt")

    def latest(rows, field):
        rows = rows.filter(lead=OuterRef("pk")).order_by().values("lead")
        return Subquery(rows.annotate(at=Max(field)).values("at")[:1])

    message = latest(Message.objects.all(), "sent_at")
    attempt = latest(ContactAttempt.objects.all(), "attempted_at")
    # Greatest is NULL on SQLite when either side is; the Coalesce keeps the one that exists.
    Lead.objects.update(
        last_activity_at=Coalesce(Greatest(message, attempt), message, attempt),
        customer_wrote_at=latest(Message.objects.filter(sender="customer"), "sent_at"),
    )
    # Nobody knows what a pro read before this: count every thread as read, rather than mark
    # every thread with a customer's message as new at once.
    Lead.objects.update(read_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_ingest_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="last_activity_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the latest message or contact attempt happened; empty while none has.",
                null=True,
                verbose_name="last activity",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="customer_wrote_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the customer's latest message reached the thread (not when it was sent).",
                null=True,
                verbose_name="customer's last message arrived",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="read_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the pro last opened the thread; a customer's message after it is new.",
                null=True,
                verbose_name="opened by the pro",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                models.F("pro"),
                models.OrderBy(
                    Coalesce("last_activity_at", "received_at"),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                name="lead_pro_activity",
            ),
        ),
        migrations.RunPython(fill_activity_and_read, migrations.RunPython.noop, elidable=True),
    ]
