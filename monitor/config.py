"""Configuration read from the environment.

Every function here returns a value *and* never raises: a bad value is recorded in ``PROBLEMS`` and a
safe default is used, so that ``monitor.checks`` can report it as a Django system check with a clear
message instead of a traceback at the first request.
"""

import ipaddress
import os

import dj_database_url

PROBLEMS: list[str] = []


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    PROBLEMS.append(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no).")
    return default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        PROBLEMS.append(f"{name}={value!r} is not a whole number.")
        return default


def database(default_path) -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_path)}
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        PROBLEMS.append(f"DATABASE_URL={url!r} cannot be used: {exc}")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_path)}
    if not config.get("ENGINE"):
        PROBLEMS.append(f"DATABASE_URL={url!r} names no supported database.")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_path)}
    return config


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        PROBLEMS.append(f"REDIS_URL={url!r} must start with redis://, rediss:// or unix://.")
        return ""
    return url


def parse_nameservers(value: str) -> list[tuple[str, int]]:
    """Parse ``host[:port]`` items separated by commas; IPv6 with a port is ``[::1]:5353``.

    Raises ValueError with a message naming the bad item.
    """
    servers = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{item!r}: expected [address]:port")
                port = rest[1:]
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{item!r}: {host!r} is not an IP address") from None
        try:
            port = int(port)
        except ValueError:
            raise ValueError(f"{item!r}: port {port!r} is not a number") from None
        if not 0 < port < 65536:
            raise ValueError(f"{item!r}: port {port} is out of range")
        servers.append((host, port))
    return servers


def networks(name: str) -> list:
    """Comma-separated addresses or networks (``10.0.0.0/8``, ``2001:db8::/32``); a bad item is left out."""
    found = []
    for item in (part.strip() for part in os.environ.get(name, "").split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            PROBLEMS.append(f"{name} has a bad entry {item!r}: not an address or network (e.g. 10.0.0.0/8).")
    return found


def nameservers() -> list[tuple[str, int]]:
    value = os.environ.get("DNS_NAMESERVERS", "")
    try:
        return parse_nameservers(value)
    except ValueError as exc:
        PROBLEMS.append(f"DNS_NAMESERVERS has a bad entry {exc}.")
        return []
