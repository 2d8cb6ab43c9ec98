"""[driver] database: a SQLite file's path, or a pair's PostgreSQL database as a postgresql:// URL,
checked the way libpq will read it before anything opens it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

SHAPE = "expected postgresql://user@host:5432/dbname"


def is_postgresql(database: str) -> bool:
    """Whether a [driver] database value names a PostgreSQL database (a postgresql:// URL) rather
    than a SQLite file."""
    return database.startswith(("postgresql://", "postgres://"))


def checked_database(value: str) -> str:
    """`value` when it is a SQLite path, or a PostgreSQL URL libpq reads: a host, a database, no
    password (config files get copied and pasted: PGPASSWORD or ~/.pgpass hold it), and only
    options libpq knows, each with a value it takes (`sslmode=bogus` was otherwise waited on
    forever, as if the server were down). Raises ValueError naming what is wrong, never the URL or
    a value from it."""
    if not is_postgresql(value):
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (parses the port: a bad one raises here, not at connect)
    except ValueError:
        raise ValueError(SHAPE) from None
    if parts.password is not None or "password" in {k.lower() for k in parse_qs(parts.query)}:
        raise ValueError("a password in the database URL: leave it out and set PGPASSWORD or ~/.pgpass")
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(SHAPE)
    if problem := libpq_refusal(value):
        raise ValueError(f"libpq cannot read it: {problem}")
    return value


def libpq_refusal(url: str) -> str | None:
    """Why libpq refuses the URL's options (an unknown one, or a value such as `sslmode=bogus`),
    None when it takes them. Asks libpq itself (psycopg: PQconninfoParse, then the option values
    libpq checks before it connects); imported here only, as a SQLite driver never needs it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        options = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        # libpq quotes what it could not read, which may be a value: shown only when it is an
        # option's name (an unknown one)
        reason = str(exc).strip().splitlines()[0]
        return reason if reason.startswith("invalid URI query parameter") else _QUOTED.sub('"..."', reason)
    for name, allowed in _CHOICES.items():
        value = options.get(name)
        if value is not None and str(value) not in allowed:
            return f"{name} takes one of {', '.join(allowed)}"
    return None


_QUOTED = re.compile(r'"[^"]*"')


_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "load_balance_hosts": ("disable", "random"),
}
"""libpq's options with a fixed set of values (PostgreSQL's libpq docs, Connection Parameters)."""
