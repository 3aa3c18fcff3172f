"""uvicorn's HTTP/1.1 protocol with the request deadlines it lacks (used by ``bookshop serve``).

uvicorn closes a keep-alive connection that stays idle (``timeout_keep_alive``), but it waits
forever for a request that a client started and never finished: a connection that sends half a
request line or half its headers, one byte now and then (slowloris), or that stops in the middle
of a body holds a socket and a task until the process stops. Thousands of them exhaust the
server. :class:`TimedH11Protocol` adds two deadlines, and closes a connection that misses one:

* ``head_timeout``: from the connection (or the end of the previous response) to the end of the
  request's head (request line and headers), however the bytes trickle in;
* ``body_timeout``: the longest silence while a request body is being received. Time the app
  spends not reading (uvicorn then stops reading the socket) is not the client's, and is not
  counted.

uvicorn builds its protocol from ``Config.http``; :func:`timed_protocol` gives it one with the
chosen deadlines (``bookshop serve --head-timeout/--body-timeout``, where the defaults live).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Literal, cast

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

__all__ = ["TimedH11Protocol", "timed_protocol"]

log = logging.getLogger("bookshop.http")

_Waiting = Literal["head", "body"] | None


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head or body stalls.

    Args:
        config: uvicorn's configuration (passed by uvicorn).
        server_state: uvicorn's server state (passed by uvicorn).
        app_state: The lifespan state (passed by uvicorn).
        _loop: The event loop (passed by uvicorn).
        head_timeout: Seconds allowed for a request head to arrive.
        body_timeout: Seconds of silence allowed while a request body arrives.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        head_timeout: float,
        body_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self._waiting: _Waiting = None
        self._deadline: asyncio.TimerHandle | None = None
        # The request whose head has arrived last; a new one means a new head is complete.
        self._current: object | None = None

    # -- uvicorn's hooks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for("head")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        self._wait_for("head")  # the next request, if the connection is kept
        super().on_response_complete()
        self._follow_request()  # a pipelined request may have started already

    def connection_lost(self, exc: Exception | None) -> None:
        self._wait_for(None)
        super().connection_lost(exc)

    # -- the deadlines -----------------------------------------------------------------------

    def _follow_request(self) -> None:
        cycle = self.cycle
        if cycle is None:
            return
        if cycle is not self._current:  # a request head is complete
            self._current = cycle
            self._waiting = "body"
        if self._waiting == "body":
            receiving = cycle.more_body and not cycle.response_complete
            # Each piece of the body restarts the silence allowed.
            self._wait_for("body" if receiving else None)

    def _wait_for(self, what: _Waiting) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting = what
        if what is not None:
            timeout = self.head_timeout if what == "head" else self.body_timeout
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # uvicorn stopped reading for the app: not the client's fault
            self._wait_for(self._waiting)
            return
        log.info("closing a connection whose request %s did not arrive in time", self._waiting)
        self.transport.close()


def timed_protocol(*, head_timeout: float, body_timeout: float) -> type[asyncio.Protocol]:
    """The protocol to give uvicorn (``uvicorn.run(..., http=timed_protocol(...))``).

    A module-level class with its arguments bound, so that it survives being pickled into the
    worker processes of ``--reload``.
    """
    bound = functools.partial(
        TimedH11Protocol, head_timeout=head_timeout, body_timeout=body_timeout
    )
    # uvicorn only calls it with its keyword arguments; it needs no more of a class than that.
    return cast("type[asyncio.Protocol]", bound)
