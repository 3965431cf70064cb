"""The decision-time roll-ups count quarter hours instead of whole minutes: the rows built
before are removed with their days' markers, so the pages count those days live until the
worker's next run rebuilds them (its first build after this reaches back the pages' longest
period). A missing roll-up is slower, never wrong."""

from django.db import migrations, models


def forget_rollups(apps, schema_editor):
    for name in ("DecisionTimeRollup", "PromiseRollup", "RollupDay"):
        apps.get_model("refunds", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("refunds", "0020_decision_tally")]

    operations = [
        migrations.AlterField(
            model_name="decisiontimerollup",
            name="minutes",
            field=models.IntegerField(
                help_text="Time from submission to the first decision, rounded down to the "
                "quarter hour, in minutes (0, 15, 30, ...).",
                verbose_name="minutes to a decision",
            ),
        ),
        migrations.RunPython(forget_rollups, migrations.RunPython.noop),
    ]
