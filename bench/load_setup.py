"""The load test's accounts: `python bench/load.py setup` calls setup() here.

In the database of DATABASE_URL, after `manage.py generate_load`: a password for 60 of the data
set's pros that have leads to report, and for 20 reviewers of its own (reviewer-load<N>@load.test,
made if missing); a marketplace id for each of those pros; an API key with leads:write (the
one an earlier setup issued is revoked). Everything bench/load.py needs goes to one JSON file.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_NAME = "Load test (bench/load.py)"
PROS = 60
REVIEWERS = 20
LEADS_PER_PRO = 200
REPORTS_PER_PRO = 30


def setup(accounts: Path, password: str) -> int:
    """Prepare the accounts and write them to `accounts`; 1 when there is no data set."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from accounts.choices import Role
    from accounts.models import User
    from integrations.choices import Scope
    from integrations.models import ApiKey, ProLink
    from leads.models import Lead
    from refunds import services

    load_pros = User.objects.filter(email__startswith="pro", email__endswith="@load.test")
    if not load_pros.exists():
        print("No load data set here: run manage.py generate_load --leads N first.")
        return 1
    # A day's margin inside the report window, so a lead is still reportable during the run.
    since = timezone.now() - timedelta(days=services.params().report_window_days - 1)
    # Pros with unreported leads in the window; the 5,000-lead pro is left to bench/run.py.
    pros = list(
        load_pros.exclude(email__startswith="pro0-")
        .filter(leads__received_at__gte=since, leads__refund_request__isnull=True)
        .distinct()
        .order_by("pk")[:PROS]
    )
    hashed = make_password(password)  # one hash (Argon2 in production) for every account
    result = []
    with transaction.atomic():
        # Reviewers of its own, one per simulated reviewer (the data set has five).
        group = Group.objects.get(name=Role.REVIEWER.value)
        reviewers = []
        for i in range(REVIEWERS):
            user, _ = User.objects.get_or_create(
                email=f"reviewer-load{i}@load.test", defaults={"is_staff": True}
            )
            user.groups.add(group)
            reviewers.append(user)
        User.objects.filter(pk__in=[u.pk for u in reviewers + pros]).update(password=hashed)
        ApiKey.objects.filter(name=KEY_NAME, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _, key = ApiKey.issue(KEY_NAME, [Scope.LEADS_WRITE.value])
        for pro in pros:
            link = ProLink.objects.filter(pro=pro).first()
            if link is None:
                link = ProLink.objects.create(pro=pro, marketplace_pro_id=f"load-pro-{pro.pk}")
            leads = list(
                Lead.objects.filter(pro=pro, received_at__gte=since)
                .order_by("-received_at")
                .values_list("pk", "refund_request")[:LEADS_PER_PRO]
            )
            result.append(
                {
                    "email": pro.email,
                    "pro_id": link.marketplace_pro_id,
                    "leads": [pk for pk, _ in leads],
                    "reportable": [pk for pk, req in leads if req is None][:REPORTS_PER_PRO],
                }
            )
    categories = sorted(
        Lead.objects.filter(pro__in=pros)
        .values_list("category__slug", flat=True)
        .order_by()
        .distinct()
    )
    accounts.parent.mkdir(parents=True, exist_ok=True)
    accounts.write_text(
        json.dumps(
            {
                "password": password,
                "api_key": key,
                "categories": categories,
                "pros": result,
                "reviewers": [u.email for u in reviewers],
            },
            indent=1,
        )
    )
    print(
        f"{len(result)} pros ({sum(len(a['reportable']) for a in result)} leads to report), "
        f"{len(reviewers)} reviewers and an API key written to {accounts}"
    )
    return 0
