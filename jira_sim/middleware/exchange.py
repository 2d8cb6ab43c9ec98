"""What the middleware layers share about one /rest/ request, and the ASGI types they are written in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_KEY = "sim_exchange"


@dataclass
class Exchange:
    """One /rest/ request as it passes the layers; the journal layer opens it and writes it down."""

    generation: int
    """The state's generation when the request arrived; a reset since then disowns the request."""
    transport_send: Send
    """uvicorn's own `send`, whose transport `abort` closes."""
    fault: str | None = None
    """The injected fault that hit the request: its kind, or the status code for a status fault."""
    user: str | None = None
    issue_key: str | None = None
    dropped: bool = False
    """The connection was (or will be) closed without an answer."""

    async def abort(self) -> None:
        """Close the socket without a byte of answer, as a crashed proxy would.

        uvicorn does not offer this through ASGI, so reach its transport; raising instead would make
        uvicorn answer 500. RuntimeError when there is no transport behind the send (not uvicorn).
        """
        cycle = getattr(self.transport_send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise RuntimeError("cannot drop the connection: no transport behind the ASGI send")
        transport.abort()
        await asyncio.sleep(0)
        await asyncio.sleep(0)


def open_exchange(scope: Scope, exchange: Exchange) -> None:
    """Attach the exchange to the request (the journal layer does this first)."""
    scope.setdefault("state", {})[_KEY] = exchange


def exchange_of(scope: Scope) -> Exchange | None:
    """The request's exchange; None for what the layers leave alone (not /rest/, not HTTP)."""
    exchange: Exchange | None = scope.get("state", {}).get(_KEY)
    return exchange
