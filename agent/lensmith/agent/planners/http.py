"""HTTP transports for planner servers: a total deadline and a byte cap per response,
and one connection pool per event loop.

httpx's timeouts are per read, so a server that drips a byte every few seconds holds
a request forever, and nothing stops a reply of any size. Here every response gets a
deadline for the whole exchange (headers and body) and a cap on its bytes.

The async transport keeps a pool per event loop: a pooled connection belongs to the
loop that opened it, and an ``Agent`` runs each synchronous ``ask`` on a fresh loop,
so one shared pool fails the next turn with "Event loop is closed".
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Iterator

import httpx


class ResponseTooLarge(httpx.TransportError):
    """The server sent more than the byte cap; the rest was not read."""

    def __init__(self, limit: int, request: httpx.Request) -> None:
        super().__init__(f"the reply is larger than {limit:,} bytes; the rest was not read", request=request)
        self.limit = limit


class DeadlineExceeded(httpx.ReadTimeout):
    """The whole exchange took longer than the deadline (however the bytes trickled in)."""

    def __init__(self, seconds: float, request: httpx.Request) -> None:
        super().__init__(f"no complete reply within {seconds:g} s", request=request)
        self.seconds = seconds


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


class _BoundedAsyncStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request, deadline: float, seconds: float,
                 max_bytes: int) -> None:
        self._inner, self._request = inner, request
        self._deadline, self._seconds, self._max_bytes = deadline, seconds, max_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        chunks = self._inner.__aiter__()
        while True:
            remaining = _remaining(self._deadline)
            if remaining <= 0:
                raise DeadlineExceeded(self._seconds, self._request)
            try:
                async with asyncio.timeout(remaining):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise DeadlineExceeded(self._seconds, self._request) from exc
            received += len(chunk)
            if received > self._max_bytes:
                raise ResponseTooLarge(self._max_bytes, self._request)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedAsyncTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport`` per event loop, with a deadline and a byte cap."""

    def __init__(self, deadline_s: float, max_bytes: int) -> None:
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for old in [k for k in self._pools if k.is_closed()]:
                del self._pools[old]  # their sockets died with their loop
            pool = self._pools[loop] = httpx.AsyncHTTPTransport()
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.deadline_s
        try:
            async with asyncio.timeout(self.deadline_s):
                response = await self._pool().handle_async_request(request)
        except TimeoutError as exc:
            raise DeadlineExceeded(self.deadline_s, request) from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedAsyncStream(response.stream, request, deadline, self.deadline_s, self.max_bytes),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.aclose()


class _BoundedSyncStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, request: httpx.Request, deadline: float, seconds: float,
                 max_bytes: int) -> None:
        self._inner, self._request = inner, request
        self._deadline, self._seconds, self._max_bytes = deadline, seconds, max_bytes

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            # a blocking read cannot be interrupted here: the check runs as bytes arrive,
            # and each read is bounded by the client's own (per read) timeout
            if _remaining(self._deadline) <= 0:
                raise DeadlineExceeded(self._seconds, self._request)
            received += len(chunk)
            if received > self._max_bytes:
                raise ResponseTooLarge(self._max_bytes, self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class BoundedSyncTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` with the deadline checked as data arrives and a byte cap."""

    def __init__(self, deadline_s: float, max_bytes: int) -> None:
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self._pool = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.deadline_s
        response = self._pool.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedSyncStream(response.stream, request, deadline, self.deadline_s, self.max_bytes),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def bounded_clients(deadline_s: float, max_bytes: int) -> tuple[httpx.Client, httpx.AsyncClient]:
    """A sync and an async client whose every response is bounded in time and size."""
    timeout = httpx.Timeout(deadline_s)
    return (
        httpx.Client(transport=BoundedSyncTransport(deadline_s, max_bytes), timeout=timeout),
        httpx.AsyncClient(transport=BoundedAsyncTransport(deadline_s, max_bytes), timeout=timeout),
    )
