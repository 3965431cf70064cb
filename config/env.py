"""Small helpers that read settings from the environment and fail loudly on bad values."""

import os
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_decimal(name: str, default: str, minimum: Decimal = Decimal(0)) -> Decimal:
    raw = os.environ.get(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if not value.is_finite() or value < minimum:
        raise ImproperlyConfigured(f"{name} must be a number of at least {minimum}, not {raw!r}")
    return value


def env_cache(name: str, default: str) -> dict:
    """A cache from a URL: locmem://[name], db://table (createcachetable) or redis://host:port."""
    raw = os.environ.get(name, default)
    scheme, _, rest = raw.partition("://")
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": rest}
    if scheme == "db" and rest:
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": rest}
    if scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    raise ImproperlyConfigured(
        f"{name} must be locmem://, db://<table> or redis://<host>:<port>, not {raw!r}"
    )


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_redis_url(name: str) -> str:
    """A Redis URL, redis://[:password@]host[:port][/db] (rediss:// for TLS), or "" when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    # The URL may carry a password: the error shows it without one.
    shown = repr(raw.split("://", 1)[0] + "://…") if "@" in raw else repr(raw)
    try:
        url = urlsplit(raw)
        url.port  # noqa: B018 (reading it checks it is a number)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("redis", "rediss") or not url.hostname:
        raise ImproperlyConfigured(
            f"{name} must be a Redis URL, redis://<host>:<port>/<db>, not {shown}"
        )
    db = url.path.lstrip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"{name}: the Redis database must be a number, not {db!r}")
    return raw
