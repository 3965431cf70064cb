"""The sweep that sends due webhook deliveries, every minute, as a django-q2 schedule.

Idempotent: a schedule that already exists (by name) is left as the operator tuned it.
"""

from django.db import migrations
from django.utils import timezone

NAME = "webhooks: send due deliveries"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    if Schedule.objects.filter(name=NAME).exists():
        return
    Schedule.objects.create(
        name=NAME,
        func="webhooks.tasks.send_due",
        schedule_type="I",  # Schedule.MINUTES
        minutes=1,
        repeats=-1,
        next_run=timezone.now(),
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
    ]
