"""gunicorn's settings for the web process, from the environment.

    gunicorn -c config/gunicorn.conf.py

scripts/serve starts gunicorn with this file. Every variable is optional:

  GUNICORN_BIND              address to listen on (0.0.0.0:8000)
  WEB_CONCURRENCY            worker processes (2 x cores + 1, at most 8: each holds a database
                             connection, and the worker's processes hold theirs)
  GUNICORN_TIMEOUT           seconds a request may take before its worker is killed (30)
  GUNICORN_GRACEFUL_TIMEOUT  seconds to finish requests in flight on stop or restart (30)
  GUNICORN_MAX_REQUESTS      a worker is replaced after this many requests, which bounds any
                             slow growth of its memory; 0 never (1000, with a random jitter)
  TRUST_PROXY_HEADERS        on: believe X-Forwarded-Proto from the addresses in
                             FORWARDED_ALLOW_IPS ("*" is every peer: only when the web port is
                             reachable through the proxy alone). Off (the default): from none.

The access log goes to stdout, errors to stderr, one line per request with its duration.
This file is plain Python run by gunicorn, not Django: it does not import the project.
"""

import multiprocessing
import os

MAX_DEFAULT_WORKERS = 8


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


def _bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise SystemExit(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


wsgi_app = "config.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = _int(
    "WEB_CONCURRENCY",
    min(2 * multiprocessing.cpu_count() + 1, MAX_DEFAULT_WORKERS),
    minimum=1,
)
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# gunicorn's control socket (gunicornc) is not used; one fixed path per user would also be
# shared by every gunicorn started on the machine.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# gunicorn's usual line plus the time taken, in milliseconds.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# Django reads X-Forwarded-Proto itself (SECURE_PROXY_SSL_HEADER, production settings); this
# decides whether gunicorn's own idea of the scheme follows it too, and from whom.
if _bool("TRUST_PROXY_HEADERS"):
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
else:
    forwarded_allow_ips = ""
