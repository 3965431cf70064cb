"""Load leads, thread messages and contact attempts from a JSON Lines file.

Each line is one object: {"type": "lead" | "message" | "attempt", "id": ..., and the fields the
API takes for that record}. Lines go through integrations.ingest, exactly as API calls do, so
importing the same file twice changes nothing the second time.
"""

import json
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction

from integrations import ingest


class Progress:
    """A bar redrawn in place on a terminal; a line every tenth of the way elsewhere (CI logs)."""

    WIDTH = 30

    def __init__(self, out: OutputWrapper, total: int):
        self.out = out
        self.total = max(total, 1)
        self.tty = out.isatty()
        self.shown = -1

    def update(self, done: int) -> None:
        percent = done * 100 // self.total
        step = percent if self.tty else percent // 10 * 10
        if step == self.shown:
            return
        self.shown = step
        filled = self.WIDTH * percent // 100
        bar = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%  line {done}/{self.total}"
        )
        self.out.write(("\r" + bar) if self.tty else bar, ending="" if self.tty else "\n")

    def finish(self) -> None:
        if self.tty and self.shown >= 0:
            self.out.write("")


class Command(BaseCommand):
    help = (
        "Import leads, thread messages and contact attempts from a JSON Lines file "
        "(one object per line with a type: lead, message or attempt), with the API's checks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the .jsonl file to import")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every line and report what would happen, but store nothing",
        )

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        path = Path(file)
        try:
            with path.open("rb") as lines:
                total = sum(1 for _ in lines)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None

        self.stderr.style_func = None  # the progress bar is not an error
        progress = Progress(self.stderr, total)
        counts: Counter[str] = Counter()
        rejected: list[str] = []
        # Each line commits on its own (a long import does not hold the database), and a
        # rejected line does not undo the others: fix the file and run it again.
        # A dry run does everything inside one transaction and rolls it back.
        with transaction.atomic() if dry_run else nullcontext():
            with path.open("rb") as lines:
                for number, line in enumerate(lines, start=1):
                    progress.update(number)
                    problem = self._import_line(line, counts)
                    if problem:
                        rejected.append(f"line {number}: {problem}")
            if dry_run:
                transaction.set_rollback(True)
        progress.finish()

        self.stdout.write(
            f"{'Checked' if dry_run else 'Imported'} {path.name}: "
            f"{counts[ingest.CREATED]} created, {counts[ingest.UPDATED]} updated, "
            f"{counts[ingest.UNCHANGED]} unchanged, {len(rejected)} rejected."
        )
        for line in rejected:
            self.stdout.write(f"  {line}")
        if dry_run:
            self.stdout.write("Dry run: nothing was stored.")
        if rejected:
            raise CommandError(f"{len(rejected)} line{'s' if len(rejected) != 1 else ''} rejected")

    def _import_line(self, line: bytes, counts: Counter[str]) -> str:
        """Store one line and count it; returns why it was rejected, or "" when accepted."""
        if not line.strip():
            return ""
        if len(line) > ingest.MAX_BODY_BYTES:
            return f"longer than {ingest.MAX_BODY_BYTES} bytes"
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as error:
            return f"not a JSON object ({error})"
        label = ""
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            label = f"{data['type']} {data.get('id', '?')}: "
        try:
            stored = ingest.ingest_record(data)
        except ingest.Invalid as error:
            return label + str(error)
        except ingest.Conflict as error:
            return label + error.message
        counts[stored.result] += 1
        return ""
