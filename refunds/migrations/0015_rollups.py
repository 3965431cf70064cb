"""The analytics' daily roll-ups (refunds/models/rollups.py) and the schedule that keeps them,
and two indexes the Review promise page reads the live part of its figures from.

The schedule is created as in 0003: one that already exists (by name) is left as the operator
tuned it. Its first run builds the history (refunds/analytics/rollups.py).
"""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

# name, task, every N minutes
SCHEDULES = [
    ("refunds: analytics roll-ups", "refunds.tasks.rebuild_rollups", 30),
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
        ('accounts', '0002_time_zones'),
        ('refunds', '0014_worker_heartbeat'),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DecisionTimeRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(verbose_name='day submitted')),
                ('total', models.BooleanField(default=False, help_text="The day's sum over every market and category (market and category empty), what the pages read when neither is filtered.", verbose_name='whole day')),
                ('minutes', models.IntegerField(help_text='Whole minutes from submission to the first decision, rounded down.', verbose_name='minutes to a decision')),
                ('requests', models.PositiveIntegerField(verbose_name='requests')),
            ],
            options={
                'verbose_name': 'decision time roll-up',
                'ordering': ('day', 'minutes', 'id'),
            },
        ),
        migrations.CreateModel(
            name='PromiseRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(verbose_name='day submitted')),
                ('total', models.BooleanField(default=False, help_text="The day's sum over every market and category (market and category empty), what the pages read when neither is filtered.", verbose_name='whole day')),
                ('requests', models.PositiveIntegerField(help_text='Decided, or open past 24 hours.', verbose_name='requests counted')),
                ('within_24h', models.PositiveIntegerField(verbose_name='decided within 24 hours')),
                ('within_window', models.PositiveIntegerField(verbose_name='decided within the review window')),
                ('decided', models.PositiveIntegerField(verbose_name='decided')),
            ],
            options={
                'verbose_name': 'review promise roll-up',
                'ordering': ('day', 'id'),
            },
        ),
        migrations.CreateModel(
            name='RollupDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(unique=True, verbose_name='day')),
                ('built_at', models.DateTimeField(verbose_name='built at')),
            ],
            options={
                'verbose_name': 'roll-up day',
                'ordering': ('day',),
            },
        ),
        migrations.AddIndex(
            model_name='decision',
            index=models.Index(condition=models.Q(('kind__in', ['automatic', 'auto_approval'])), fields=['decided_at', 'request'], name='decision_rules_at'),
        ),
        migrations.AddField(
            model_name='decisiontimerollup',
            name='category',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.servicecategory', verbose_name='category'),
        ),
        migrations.AddField(
            model_name='decisiontimerollup',
            name='market',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.market', verbose_name='market'),
        ),
        migrations.AddField(
            model_name='promiserollup',
            name='category',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.servicecategory', verbose_name='category'),
        ),
        migrations.AddField(
            model_name='promiserollup',
            name='market',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.market', verbose_name='market'),
        ),
        migrations.AddIndex(
            model_name='decisiontimerollup',
            index=models.Index(fields=['total', 'day', 'market', 'category', 'minutes', 'requests'], name='decision_time_rollup_day'),
        ),
        migrations.AddIndex(
            model_name='promiserollup',
            index=models.Index(fields=['total', 'day', 'market', 'category'], name='promise_rollup_day'),
        ),
        migrations.AddIndex(
            model_name='refundrequest',
            index=models.Index(condition=models.Q(('status__in', ['submitted', 'in_review'])), fields=['submitted_at', 'due_at', 'id'], name='request_open_age'),
        ),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
