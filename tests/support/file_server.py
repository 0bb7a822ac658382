"""A small real HTTP file server on 127.0.0.1 for download tests.

Serves bytes from a dict of paths, honours ``Range: bytes=N-`` with 206 replies, and
can misbehave on purpose: cut a reply off after ``cut_after`` bytes (an interrupted
download), ignore ranges, or answer a path with a redirect that carries the hub's
``X-Linked-Etag``/``X-Linked-Size`` headers, as huggingface.co does for LFS files.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FileServer:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before hanging up (once)
    hub_etag: dict[str, str] = field(default_factory=dict)  # path -> sha256 to publish on a redirect
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path
                server.requests.append((path, self.headers.get("Range")))
                if path.startswith("/hub/"):
                    target = path.removeprefix("/hub")
                    body = server.files.get(target)
                    self.send_response(302)
                    self.send_header("Location", f"/cdn{target}")
                    if body is not None and target in server.hub_etag:
                        self.send_header("X-Linked-Etag", f'"{server.hub_etag[target]}"')
                        self.send_header("X-Linked-Size", str(len(body)))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = path.removeprefix("/cdn")
                body = server.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                header = self.headers.get("Range")
                if header and not server.ignore_range:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                cut = server.cut_after.pop(path, None)
                if cut is not None:
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
