"""Disputes get a clock: support answers within REFUND_DISPUTE_HOURS of the pro's reply."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def give_existing_disputes_a_due_time(apps, schema_editor):
    Dispute = apps.get_model("refunds", "Dispute")
    hours = settings.REFUND_POLICY["DISPUTE_HOURS"]
    Dispute.objects.filter(due_at__isnull=True).update(due_at=F("opened_at") + timedelta(hours=hours))


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0008_support_retries_credits"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispute",
            name="due_at",
            field=models.DateTimeField(
                help_text="REFUND_DISPUTE_HOURS after the pro's reply.",
                null=True,
                verbose_name="answer due",
            ),
        ),
        migrations.RunPython(give_existing_disputes_a_due_time, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="dispute",
            name="due_at",
            field=models.DateTimeField(
                help_text="REFUND_DISPUTE_HOURS after the pro's reply.",
                verbose_name="answer due",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="overdue_notified_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="overdue notice sent at"
            ),
        ),
        migrations.AlterModelOptions(
            name="dispute",
            options={"ordering": ("due_at", "id")},
        ),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["due_at", "id"],
                name="dispute_open_due",
            ),
        ),
    ]
