"""Fetching an image by URL with hard bounds: a total deadline, a byte cap, a redirect
limit, and (for untrusted callers) no loopback, private or link-local targets.

The address check runs on the addresses DNS returned, and the connection goes to the
address that was checked (so a name cannot resolve to a public address for the check
and a private one for the connection); every redirect is checked the same way. A
watchdog closes the socket at the deadline, so a server that drips one byte at a time
cannot hold the caller past it.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urljoin, urlsplit

from lensmith.runtime.errors import ImageError

DEADLINE_S = 20.0
MAX_BYTES = 64 * 1024 * 1024
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_dns = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lensmith-dns")


def is_public(address: str) -> bool:
    """True for globally routable unicast addresses only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def download(
    url: str,
    *,
    allow_private: bool = False,
    deadline_s: float = DEADLINE_S,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> bytes:
    """The body of ``url`` (http or https), or an :class:`ImageError` saying why not."""
    end = time.monotonic() + deadline_s
    current = url
    for _ in range(max_redirects + 1):
        status, location, body = _get_once(current, end, allow_private=allow_private, max_bytes=max_bytes)
        if location is None:
            if status >= 400:
                raise ImageError(f"Could not download {_show(url)}: HTTP {status}")
            return body
        current = urljoin(current, location)
    raise ImageError(f"Could not download {_show(url)}: more than {max_redirects} redirects")


def _show(url: str, limit: int = 200) -> str:
    return url if len(url) <= limit else url[:limit] + "…"


def _remaining(end: float, url: str) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise ImageError(f"Could not download {_show(url)}: no complete answer within the deadline")
    return left


def _resolve(host: str, port: int, end: float, url: str) -> list[str]:
    future = _dns.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=_remaining(end, url))
    except FutureTimeout as exc:
        raise ImageError(f"Could not download {_show(url)}: the name did not resolve within the deadline") from exc
    except OSError as exc:
        raise ImageError(f"Could not download {_show(url)}: cannot resolve {host!r}") from exc
    return [str(info[4][0]) for info in infos]


def _get_once(url: str, end: float, *, allow_private: bool, max_bytes: int) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImageError(f"Could not download {_show(url)}: only http(s) URLs with a host are fetched")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ImageError(f"Could not download {_show(url)}: bad port") from exc
    addresses = _resolve(host, port, end, url)
    if not allow_private and (not addresses or not all(is_public(a) for a in addresses)):
        # one message whatever the reason, so errors cannot map a private network
        raise ImageError(f"Could not download {_show(url)}: only public internet addresses are fetched")
    sock = _connect(addresses, port, end, url)
    watchdog = threading.Timer(max(0.0, end - time.monotonic()), _close, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            watchdog.args = (sock,)
        conn = http.client.HTTPConnection(host, port)
        conn.sock = sock
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers={"User-Agent": "lensmith", "Accept": "image/*"})
        response = conn.getresponse()
        if 300 <= response.status < 400 and response.getheader("Location"):
            return response.status, response.getheader("Location"), b""
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise ImageError(f"Download too large (over {max_bytes // 2**20} MiB): {_show(url)}")
        chunks, total = [], 0
        while True:
            _remaining(end, url)
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise ImageError(f"Download too large (over {max_bytes // 2**20} MiB): {_show(url)}")
            chunks.append(chunk)
        return response.status, None, b"".join(chunks)
    except ImageError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if time.monotonic() >= end - 0.05:
            raise ImageError(f"Could not download {_show(url)}: no complete answer within the deadline") from exc
        raise ImageError(f"Could not download {_show(url)}: {type(exc).__name__}: {exc}") from exc
    finally:
        watchdog.cancel()
        _close(sock)


def _connect(addresses: list[str], port: int, end: float, url: str) -> socket.socket:
    last: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=min(_remaining(end, url), 10.0))
        except OSError as exc:
            last = exc
            continue
        sock.settimeout(_remaining(end, url))
        return sock
    raise ImageError(f"Could not download {_show(url)}: cannot connect ({last})")


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
