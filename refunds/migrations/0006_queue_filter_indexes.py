"""The queue's filters read one index each, however many decided requests pile up.

Each request keeps the market its pro was in when they reported (the market their refund rate
was compared with), so filtering the queue by market no longer walks users and profiles. Both
filter indexes hold open requests only, in due order.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def market_of_each_request(apps, schema_editor):
    RefundRequest = apps.get_model("refunds", "RefundRequest")
    ProProfile = apps.get_model("accounts", "ProProfile")
    profile = ProProfile.objects.filter(user_id=OuterRef("pro_id")).values("market_id")[:1]
    RefundRequest.objects.update(market_id=Subquery(profile))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("leads", "0002_ingest_fields"),
        ("refunds", "0005_eventlog_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="refundrequest",
            name="market",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refund_requests",
                to="accounts.market",
                verbose_name="market",
            ),
        ),
        migrations.RunPython(market_of_each_request, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="refundrequest",
            index=models.Index(
                condition=models.Q(("status__in", ["submitted", "in_review"])),
                fields=["reason", "due_at", "id"],
                name="request_open_reason_due",
            ),
        ),
        migrations.AddIndex(
            model_name="refundrequest",
            index=models.Index(
                condition=models.Q(("status__in", ["submitted", "in_review"])),
                fields=["market", "reason", "due_at", "id"],
                name="request_open_market_due",
            ),
        ),
    ]
