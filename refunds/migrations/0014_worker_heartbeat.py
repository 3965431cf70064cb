"""The worker's heartbeat: a one-row table and the schedule that writes it every minute.

/health/ready and /metrics read the row's age. The schedule is created as in 0003: one that
already exists (by name) is left as the operator tuned it.
"""

from django.db import migrations, models
from django.utils import timezone

# name, task, every N minutes
SCHEDULES = [
    ("refunds: worker heartbeat", "refunds.tasks.worker_heartbeat", 1),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        if not Schedule.objects.filter(name=name).exists():
            Schedule.objects.create(
                name=name,
                func=func,
                schedule_type="I",  # every N minutes
                minutes=minutes,
                repeats=-1,
                next_run=timezone.now(),
            )


def remove_schedules(apps, schema_editor):
    names = [name for name, _, _ in SCHEDULES]
    apps.get_model("django_q", "Schedule").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('refunds', '0013_analytics_permission'),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkerHeartbeat',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False, verbose_name='id')),
                ('beat_at', models.DateTimeField(verbose_name='last heartbeat')),
            ],
            options={
                'verbose_name': 'worker heartbeat',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='worker_heartbeat_one_row')],
            },
        ),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
