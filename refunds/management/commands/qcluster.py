"""`manage.py qcluster`: django-q2's worker cluster, whose processes stop when their parent dies.

The same command as django-q2's (same options), with one addition made before the cluster
starts: refunds.worker_processes.stop_with_parent(). Killing qcluster with SIGKILL then takes its
sentinel, workers, monitor and pusher with it instead of leaving them taking tasks. This command
wins over django-q2's because refunds comes before django_q in INSTALLED_APPS.
"""

from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from refunds.worker_processes import stop_with_parent


class Command(DjangoQClusterCommand):
    help = "Starts the django-q2 worker cluster; its processes stop if this one is killed."

    def handle(self, *args, **options):
        stop_with_parent()
        return super().handle(*args, **options)
