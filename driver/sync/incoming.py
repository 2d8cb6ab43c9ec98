"""A webhook delivery's body as it arrives: kept in bounded memory and signed as it streams (I/O).

Jira's deliveries carry the whole issue, comments included, and can reach 25 MB (docs/wire-facts.md
§12). The body is spooled (memory up to SPOOL_IN_MEMORY, then a private temporary file), and its
HMAC-SHA256 is computed chunk by chunk, so the signature of any size is checked without holding the
body. Past MAX_WEBHOOK_BYTES nothing more is kept, but the rest is still read and signed up to
READ_AT_MOST: a delivery refused as too large is still known to be Jira's (a valid signature), and
in mode `both` the issue it names (in the part kept) is polled instead (driver.sync.service).
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from typing import IO

from driver.sync.rules import digest_matches

MAX_WEBHOOK_BYTES = 32 * 1024 * 1024
"""The largest delivery handled (32 MiB; Jira's reach 25 MB); a larger one is refused with 413."""
READ_AT_MOST = 4 * MAX_WEBHOOK_BYTES
"""How much of a larger delivery is read (and signed) before the connection is given up on."""
SPOOL_IN_MEMORY = 1024 * 1024
"""Bytes of a body held in memory; the rest goes to a temporary file only this user can read."""


class IncomingBody:
    """One delivery's body: `write` its chunks as they come, then read it back with `file()`.

    `size` counts every byte received; `too_large` once it passes MAX_WEBHOOK_BYTES (the file then
    holds the first MAX_WEBHOOK_BYTES only); `cut_short` once READ_AT_MOST was reached and the
    reader should stop. Close it when done (a context manager).
    """

    def __init__(self, secret: str) -> None:
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256) if secret else None
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Add the next chunk of the body."""
        kept = max(0, min(len(chunk), MAX_WEBHOOK_BYTES - self.size))
        if kept:
            self._spool.write(chunk[:kept])
        if self._mac is not None:
            self._mac.update(chunk)
        self.size += len(chunk)

    @property
    def too_large(self) -> bool:
        return self.size > MAX_WEBHOOK_BYTES

    @property
    def cut_short(self) -> bool:
        return self.size >= READ_AT_MOST

    def signed_by(self, header: str | None) -> bool:
        """Whether X-Hub-Signature `header` signs the whole body with the secret (never for a body cut
        short, or without a secret)."""
        if self._mac is None or self.cut_short:
            return False
        return digest_matches(self._mac.hexdigest(), header)

    def file(self) -> IO[bytes]:
        """The body kept, from its start."""
        self._spool.seek(0)
        return self._spool

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> IncomingBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
