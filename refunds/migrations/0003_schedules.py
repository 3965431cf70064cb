"""The worker's recurring tasks as django-q2 schedules.

Idempotent: a schedule that already exists (by name) is left as the operator tuned it.
"""

from django.db import migrations
from django.utils import timezone

# name, task, every N minutes
SCHEDULES = [
    ("refunds: expire claims", "refunds.tasks.expire_claims", 5),
    ("refunds: resume stuck decisions", "refunds.tasks.resume_stuck", 5),
    ("refunds: overdue sweep", "refunds.tasks.sweep_overdue", 5),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        if Schedule.objects.filter(name=name).exists():
            continue
        Schedule.objects.create(
            name=name,
            func=func,
            schedule_type="I",  # Schedule.MINUTES
            minutes=minutes,
            repeats=-1,
            next_run=timezone.now(),
        )


def remove_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0002_roles_and_denial_templates"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(create_schedules, remove_schedules),
    ]
