"""A warm agent for many ``lensmith ask`` commands in a row: ``lensmith ask --warm``.

The first ``--warm`` ask starts ``lensmith warm serve`` in the background; it keeps the
planner, the tools' models and memory loaded, answers every later ``--warm`` ask, and
exits after ``--idle`` seconds without one. ``ask`` sends its arguments, receives the
turn's events as they happen (so progress shows as usual) and renders the trace itself.

Only this user's processes can talk to it: it listens on a Unix socket inside
``$LENSMITH_HOME/run`` (a 0700 folder), and a connection must prove it knows a random key
kept there in a 0600 file (``multiprocessing.connection``'s HMAC challenge) before a byte
of the request is read. Requests and replies are JSON, never pickles, and bounded in size.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from lensmith.cli.common import fail, new_secret_file

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from lensmith.agent.events import Event
    from lensmith.agent.trace import TurnTrace

log = logging.getLogger("lensmith.warm")

DEFAULT_IDLE_S = 600.0
START_TIMEOUT_S = 120.0
MAX_REQUEST = 1 << 20  # arguments and flags; images travel as paths


def run_dir() -> Path:
    from lensmith.runtime.paths import home

    path = home() / "run"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _address() -> str:
    address = str(run_dir() / "agent.sock")
    if len(address.encode()) > 100:  # sun_path holds 108 bytes on Linux, 104 on macOS
        fail(f"the warm agent's socket path is too long ({address}): set LENSMITH_HOME to a shorter folder")
    return address


def _key(create: bool) -> bytes | None:
    path = run_dir() / "agent.key"
    if create:
        new_secret_file(path)
    try:
        return path.read_text().strip().encode()
    except OSError:
        return None


def connect() -> Connection | None:
    """A connection to the running warm agent, or None when none answers."""
    from multiprocessing.connection import Client

    key = _key(create=False)
    address = _address()
    if key is None or not os.path.exists(address):
        return None
    try:
        return Client(address, family="AF_UNIX", authkey=key)
    except Exception as exc:  # noqa: BLE001 - no listener (OSError), or a stale key (AuthenticationError)
        log.debug("no warm agent answers at %s: %s", address, exc)
        return None


def start(idle_s: float = DEFAULT_IDLE_S) -> Connection:
    """Connect to the warm agent, starting it first when none is running."""
    conn = connect()
    if conn is not None:
        return conn
    log_path = run_dir() / "agent.log"
    with open(log_path, "ab") as out:
        # a session of its own: Ctrl-C in this terminal must not reach it
        subprocess.Popen([sys.executable, "-m", "lensmith.cli", "warm", "serve", "--idle", str(idle_s)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, env=os.environ.copy())
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        conn = connect()
        if conn is not None:
            return conn
    fail(f"the warm agent did not start within {START_TIMEOUT_S:.0f} s; its log: {log_path}")
    raise AssertionError("unreachable")


# ---- the client side, used by `lensmith ask --warm` -------------------------------------
def request_for(question: str, images: list[str], session: str | None, **flags: Any) -> dict[str, Any]:
    """An ask as the warm agent reads it. Local paths are made absolute here: the agent runs
    in another folder. URLs, data URLs and session image ids pass as they are."""

    def absolute(ref: str) -> str:
        return ref if "://" in ref or ref.startswith(("data:", "img:")) else os.path.abspath(ref)

    return {"question": question, "images": [absolute(i) for i in images], "session": session, "flags": flags}


def ask_warm(request: dict[str, Any], on_event: Callable[[Event], None],
             cancel: threading.Event) -> TurnTrace:
    """Send one ask to the warm agent, relay its events, and return the turn's trace."""
    from pydantic import TypeAdapter

    from lensmith.agent.events import AnyEvent
    from lensmith.agent.trace import TurnTrace

    events: TypeAdapter[Any] = TypeAdapter(AnyEvent)
    conn = start()
    with conn:
        conn.send_bytes(json.dumps(request).encode())
        while True:
            if cancel.is_set():
                raise KeyboardInterrupt
            if not conn.poll(0.1):
                continue
            message = json.loads(conn.recv_bytes())
            kind = message.get("type")
            if kind == "warm_trace":
                return TurnTrace.model_validate(message["trace"])
            if kind == "warm_error":
                fail(str(message.get("message", "the warm agent failed")))
            on_event(events.validate_python(message))


# ---- the server side ------------------------------------------------------------------
class _Server:
    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self.last = time.monotonic()
        self.busy = False
        self.agents: dict[str, Any] = {}

    def serve(self) -> None:
        from multiprocessing.connection import Listener

        address = _address()
        if connect() is not None:
            fail("a warm agent is already running (lensmith warm status)")
        if os.path.exists(address):
            os.unlink(address)  # left by one that was killed
        key = _key(create=True)
        assert key is not None
        listener = Listener(address, family="AF_UNIX", authkey=key)
        os.chmod(address, 0o600)
        log.warning("warm agent %d listening on %s (stops after %.0f s idle)", os.getpid(), address, self.idle_s)
        threading.Thread(target=self._watch, args=(listener,), name="lensmith-warm-idle", daemon=True).start()
        try:
            failures = 0
            while True:
                try:
                    conn = listener.accept()
                    failures = 0
                except Exception as exc:  # noqa: BLE001 - a client without the key, or one that hung up mid-handshake
                    failures += 1
                    log.warning("refused a connection: %s: %s", type(exc).__name__, exc)
                    if failures > 100:  # the socket itself is broken, not one client
                        break
                    continue
                self.busy, self.last = True, time.monotonic()
                try:
                    with conn:
                        if self._handle(conn) == "stop":
                            break
                finally:
                    self.busy, self.last = False, time.monotonic()
        finally:
            listener.close()
            log.warning("warm agent %d stopped", os.getpid())

    def _watch(self, listener: Any) -> None:
        while True:
            time.sleep(min(5.0, self.idle_s / 4))
            if not self.busy and time.monotonic() - self.last > self.idle_s:
                # closing a listening socket from another thread does not wake accept() on
                # Linux: ask ourselves to stop, through the front door
                with contextlib.suppress(Exception):
                    _control("stop")
                return

    def _handle(self, conn: Connection) -> str | None:
        try:
            request = json.loads(conn.recv_bytes(MAX_REQUEST))
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
        except (OSError, EOFError, ValueError) as exc:
            log.warning("bad request: %s", exc)
            return None
        if request.get("command") == "stop":
            _send(conn, {"type": "warm_stopping", "pid": os.getpid()})
            return "stop"
        if request.get("command") == "status":
            _send(conn, {"type": "warm_status", "pid": os.getpid(), "idle_s": self.idle_s, "agents": len(self.agents)})
            return None
        try:
            trace = self._ask(conn, request)
        except typer.Exit:
            return None  # already reported to the client
        except Exception as exc:  # noqa: BLE001 - one bad turn must not stop the server
            log.exception("warm ask failed")
            _send(conn, {"type": "warm_error", "message": f"{type(exc).__name__}: {exc}"})
            return None
        _send(conn, {"type": "warm_trace", "trace": trace.model_dump(mode="json")})
        return None

    def _ask(self, conn: Connection, request: dict[str, Any]) -> TurnTrace:
        from lensmith.agent.loop import Agent
        from lensmith.agent.planners import PlannerUnavailable
        from lensmith.agent.sessions import SessionNotFound
        from lensmith.cli.ask import ready_session
        from lensmith.cli.options import build_settings

        flags = request.get("flags") or {}
        images = [str(x) for x in request.get("images") or []]
        question = str(request.get("question") or "")
        settings = build_settings(flags.get("planner"), flags.get("planner_url"), flags.get("planner_model"),
                                  flags.get("device"), flags.get("max_steps"), bool(flags.get("no_memory")))
        key = settings.model_dump_json()
        agent = self.agents.get(key)
        if agent is None:
            agent = self.agents[key] = Agent(settings)
        try:
            current = ready_session(agent, request.get("session") or None)
        except (PlannerUnavailable, SessionNotFound) as exc:
            _send(conn, {"type": "warm_error", "message": str(exc)})
            raise typer.Exit(1) from None
        cancel = threading.Event()

        def relay(event: Event) -> None:
            if not _send(conn, event.model_dump(mode="json")):
                cancel.set()  # the client went away (Ctrl-C): stop the turn

        return agent.ask(question, images, session=current, on_event=relay, cancel=cancel)


def _send(conn: Connection, message: dict[str, Any]) -> bool:
    try:
        conn.send_bytes(json.dumps(message, ensure_ascii=False).encode())
        return True
    except (OSError, ValueError):
        return False


def _control(command: str) -> dict[str, Any] | None:
    conn = connect()
    if conn is None:
        return None
    with conn:
        conn.send_bytes(json.dumps({"command": command}).encode())
        return json.loads(conn.recv_bytes()) if conn.poll(10) else None


# ---- commands -------------------------------------------------------------------------
def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The warm agent behind `lensmith ask --warm`: status, stop.", no_args_is_help=True,
                        rich_markup_mode=None)

    @group.command("serve")
    def serve_cmd(idle: float = typer.Option(DEFAULT_IDLE_S, "--idle", help="Exit after this many seconds without an ask.")) -> None:
        """Run the warm agent in the foreground (`ask --warm` starts it in the background)."""
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        _Server(idle).serve()

    @group.command("status")
    def status_cmd(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
        """Whether a warm agent is running, and its process id."""
        reply = _control("status")
        info = {"running": reply is not None, **({"pid": reply["pid"], "idle_s": reply["idle_s"]} if reply else {})}
        if json_out:
            typer.echo(json.dumps(info))
        elif reply is None:
            typer.echo("no warm agent is running (lensmith ask --warm starts one)")
        else:
            typer.echo(f"warm agent running: pid {reply['pid']}, stops after {reply['idle_s']:.0f} s idle")

    @group.command("stop")
    def stop_cmd() -> None:
        """Stop the warm agent now (it also stops by itself when idle)."""
        reply = _control("stop")
        typer.echo("no warm agent is running" if reply is None else f"stopped warm agent {reply['pid']}")

    app.add_typer(group, name="warm")
