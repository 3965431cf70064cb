"""manage.py rebuild_rollups [--since YYYY-MM-DD]: build the analytics' daily roll-ups.

Without --since it does what the worker's schedule does: the closed-out days not built yet and
the days whose requests changed since the last build. With --since it also builds every
closed-out day from that date on, e.g. after importing history or changing a definition.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refunds.analytics import rollups


class Command(BaseCommand):
    help = "Build the analytics' daily roll-ups (every closed-out day from --since on)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", help="First day to build (YYYY-MM-DD, UTC).")

    def handle(self, *args, since: str | None, **options) -> None:
        first = None
        if since:
            try:
                first = date.fromisoformat(since)
            except ValueError as error:
                raise CommandError(f"--since must be a date, YYYY-MM-DD: {since!r}") from error
        days = rollups.rebuild(timezone.now(), since=first)
        if options["verbosity"]:
            if days:
                self.stdout.write(f"Rebuilt {len(days)} days, {days[0]} to {days[-1]}.")
            else:
                self.stdout.write("Nothing to rebuild.")
