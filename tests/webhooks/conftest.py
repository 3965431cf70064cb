"""A real HTTP receiver on 127.0.0.1, in a thread, that answers as each test scripts it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.models import WebhookEndpoint


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (then `then`), after `delay` seconds."""

    url: str
    script: list[int] = field(default_factory=list)
    then: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def answer(self) -> int:
        return self.script.pop(0) if self.script else self.then

    def bodies(self) -> list[dict]:
        import json

        return [json.loads(r.body) for r in self.received]


def start() -> tuple[Receiver, ThreadingHTTPServer]:
    """A receiver on a free port of 127.0.0.1 (the system picks it: two runs never collide)."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.received.append(Received(self.path, dict(self.headers), raw))
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(receiver.answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


@pytest.fixture
def receiver():
    receiver, server = start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def second_receiver():
    receiver, server = start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(db, receiver) -> WebhookEndpoint:
    """The marketplace's endpoint, subscribed to every event."""
    from webhooks.choices import EventType

    return WebhookEndpoint.objects.create(url=receiver.url, events=EventType.values)
