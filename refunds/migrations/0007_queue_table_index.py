"""An index for the worker's queue table (django-q2's ORM broker ships none).

The broker asks for the next tasks of its cluster that are not locked, with
`WHERE key = ... AND lock < now()`. Without an index that is a sequential scan, and every task
handed out and acknowledged leaves dead rows behind (an update, then a delete), so each fetch
read more of them until the table was vacuumed: measured at 1,000,000 leads, 10,000 tasks took
86 s with the scan and 50 s with this index.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0006_queue_filter_indexes"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS ormq_key_lock ON django_q_ormq (key, lock)",
            reverse_sql="DROP INDEX IF EXISTS ormq_key_lock",
        ),
    ]
