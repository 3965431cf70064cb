"""A load test against a running server: pros, reviewers and the marketplace's API (locust).

1. Once per data set, against the server's database (DATABASE_URL), after generate_load:

       python bench/load.py setup

   gives a password to 60 of the load data set's pros that have leads to report and to 20
   reviewers of its own (reviewer-load<N>@load.test, made if missing), links those pros to
   marketplace ids, issues an API key with leads:write (revoking the one an earlier setup
   issued) and writes it all to bench/results/load-accounts.json (git ignores it: it holds
   the key and the password).

2. Then, as often as wanted:

       locust -f bench/load.py --headless -u 50 -r 5 -t 2m --host http://127.0.0.1:8000

Who does what (each simulated person waits 1 to 3 s between actions, LOAD_WAIT="1,3"):

  pro       (weight 6)  Messages, a lead's thread, now and then a report of a lead (the form,
                        then the submission); signs in once through /login/
  reviewer  (weight 2)  the queue, a request page from it, now and then Start reviewing and
                        an approval of the request it claimed; signs in through /login/
  api       (weight 2)  PUT /api/v1/leads/<id>: a new lead (201), or one it sent before,
                        unchanged (200), with the Bearer key

Each simulated person has an account of its own (up to 60 pros and 20 reviewers at once), so
two never report the same lead or approve the same request. A request counts as failed when
the answer is not the one the product gives on success.

This file is imported by locust without Django; `setup` (bench/load_setup.py) loads the project.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = Path(os.environ.get("LOAD_ACCOUNTS", ROOT / "bench" / "results" / "load-accounts.json"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-password-not-secret")

# Setup: run as a script, with Django (imported only here)

if __name__ == "__main__":
    if sys.argv[1:] != ["setup"]:
        print(__doc__)
        sys.exit(2)
    sys.path.insert(0, str(ROOT))
    from bench.load_setup import setup

    sys.exit(setup(ACCOUNTS, PASSWORD))


# The load: imported by locust, without Django

from locust import FastHttpUser, between, task  # noqa: E402
from locust.exception import StopUser  # noqa: E402

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REQUEST_LINK = re.compile(r'href="/admin/refunds/refundrequest/(\d+)/change/')
QUEUE = "/admin/refunds/refundrequest/"
REASONS = ["wrong_job", "invalid_contact", "duplicate", "hired_before_contact", "spam"]  # Reason


def _load_accounts() -> dict:
    if not ACCOUNTS.exists():
        raise SystemExit(f"{ACCOUNTS} is missing: run `python bench/load.py setup` first")
    return json.loads(ACCOUNTS.read_text())


DATA = _load_accounts()
_pros = itertools.cycle(DATA["pros"])
_reviewers = itertools.cycle(DATA["reviewers"])
_low, _high = (float(x) for x in os.environ.get("LOAD_WAIT", "1,3").split(","))


class Person(FastHttpUser):
    abstract = True
    wait_time = between(_low, _high)

    def csrf_token(self, html: str = "") -> str:
        found = CSRF.search(html)
        if found:
            return found.group(1)
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def sign_in(self, email: str, lands_on: str) -> None:
        page = self.client.get("/login/", name="sign in: page")
        with self.client.post(
            "/login/",
            data={
                "username": email,
                "password": DATA["password"],
                "csrfmiddlewaretoken": self.csrf_token(page.text),
            },
            headers={"Referer": self.host + "/login/"},
            allow_redirects=False,
            name="sign in: submit",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")
                raise StopUser()
        self.client.get(lands_on, name="sign in: landing")

    def post_form(self, url: str, data: dict, token: str, name: str):
        return self.client.post(
            url,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": self.host + url},
            allow_redirects=False,
            name=name,
            catch_response=True,
        )


class Pro(Person):
    weight = 6

    def on_start(self) -> None:
        self.account = next(_pros)
        self.to_report = list(self.account["reportable"])
        random.shuffle(self.to_report)
        self.sign_in(self.account["email"], "/messages/")

    @task(5)
    def messages(self) -> None:
        self.client.get("/messages/", name="pro: Messages")

    @task(4)
    def thread(self) -> None:
        lead = random.choice(self.account["leads"])
        self.client.get(f"/messages/{lead}/", name="pro: thread")

    @task(1)
    def report(self) -> None:
        if not self.to_report:
            return
        lead = self.to_report.pop()
        url = f"/messages/{lead}/report/"
        form = self.client.get(url, name="pro: report form")
        data = {"reason": random.choice(REASONS), "details": "Load test report."}
        with self.post_form(url, data, self.csrf_token(form.text), "pro: report submit") as r:
            if r.status_code != 302 or r.headers.get("Location") != f"/messages/{lead}/":
                r.failure(f"report answered {r.status_code} {r.headers.get('Location')}")


class Reviewer(Person):
    weight = 2

    def on_start(self) -> None:
        self.email = next(_reviewers)
        self.seen: list[str] = []
        self.sign_in(self.email, "/admin/")

    @task(4)
    def queue(self) -> None:
        page = self.client.get(QUEUE, name="reviewer: queue")
        self.seen = REQUEST_LINK.findall(page.text or "") or self.seen

    @task(3)
    def request_page(self) -> None:
        if not self.seen:
            return self.queue()
        pk = random.choice(self.seen)
        self.client.get(f"{QUEUE}{pk}/change/", name="reviewer: request page")

    @task(1)
    def approve(self) -> None:
        queue = self.client.get(QUEUE, name="reviewer: queue")
        token = self.csrf_token(queue.text)
        with self.post_form(
            f"{QUEUE}start/", {"_changelist_filters": ""}, token, "reviewer: start reviewing"
        ) as started:
            target = started.headers.get("Location", "")
            if started.status_code != 302:
                started.failure(f"Start reviewing answered {started.status_code}")
                return
        if "/change/" not in target:
            return  # nothing free to review
        page = self.client.get(target, name="reviewer: request page")
        path = target.split("?")[0]
        with self.post_form(
            target, {"transition": "approve"}, self.csrf_token(page.text), "reviewer: approve"
        ) as approved:
            after = approved.headers.get("Location", "")
            # Refused, it comes back to the same page; approved, it opens the next or the queue.
            if approved.status_code != 302 or after.split("?")[0] == path:
                approved.failure(f"approve answered {approved.status_code} {after}")


class Api(FastHttpUser):
    weight = 2
    wait_time = between(_low, _high)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {DATA['api_key']}"}
        self.sent: list[tuple[str, dict]] = []

    def lead_body(self) -> dict:
        pro = random.choice(DATA["pros"])
        received = datetime.now(UTC) - timedelta(minutes=random.randint(1, 600))
        return {
            "pro_id": pro["pro_id"],
            "customer_name": f"Load Customer {random.randint(1, 99999)}",
            "customer_phone": f"(512) 555-{random.randint(0, 9999):04d}",
            "customer_email": f"customer{random.randint(1, 99999)}@example.com",
            "category": random.choice(DATA["categories"]),
            "location": "Austin, TX 78704",
            "request_text": "Load test: the kitchen sink drains slowly.",
            "price": f"{random.randint(15, 60)}.00",
            "payment_method": random.choice(["balance", "card"]),
            "received_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def put(self, lead_id: str, body: dict, expect: int, name: str) -> None:
        with self.client.put(
            f"/api/v1/leads/{lead_id}",
            json=body,
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")

    @task(3)
    def new_lead(self) -> None:
        lead_id, body = f"load-api-{uuid.uuid4().hex[:16]}", self.lead_body()
        self.put(lead_id, body, 201, "api: PUT lead (new)")
        self.sent.append((lead_id, body))

    @task(1)
    def same_lead(self) -> None:
        if not self.sent:
            return self.new_lead()
        lead_id, body = random.choice(self.sent)
        self.put(lead_id, body, 200, "api: PUT lead (same)")
