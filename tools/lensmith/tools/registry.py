"""Where tools come from: built-ins and plugins through the ``lensmith.tools``
entry-point group (built-ins are registered the same way as third-party tools), and
MCP servers named in the config (through ``langchain-mcp-adapters``).

An entry point may name a ``BaseTool`` subclass, a ``BaseTool`` instance (e.g. a
function decorated with ``@tool``), or a callable returning a list of tools.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

from lensmith.runtime.artifacts import GenericArtifact
from lensmith.runtime.errors import ToolError, UnknownTool

log = logging.getLogger("lensmith.tools")

ENTRY_POINT_GROUP = "lensmith.tools"
OWN_DISTRIBUTION = "lensmith"
_GUARDED = "_lensmith_guarded"  # marks a function already wrapped by _guarded


class ToolInfo(BaseModel):
    name: str
    source: str  # "builtin", "plugin:<distribution>", "mcp:<server>"
    origin: str = ""  # entry point value or server command/url
    description: str = ""
    args_schema: dict[str, Any] | None = None
    backend: str | None = None  # model or method the tool will use
    ok: bool = True
    error: str | None = None


def is_memory_tool(tool: BaseTool) -> bool:
    """A tool that reads or writes lensmith's memory (remember, retrieve): it goes
    wherever memory is off (``--no-memory``, an MCP server not serving memory)."""
    return type(tool).__module__.startswith("lensmith.memory.")


class Registry:
    """The tools a session may call, plus a record of those that failed to load."""

    def __init__(self, tools: Iterable[BaseTool] = (), *, source: str = "builtin") -> None:
        self._tools: dict[str, BaseTool] = {}
        self._infos: dict[str, ToolInfo] = {}
        self._failures: list[ToolInfo] = []
        for tool in tools:
            self.add(tool, source=source)

    # ---- building ----------------------------------------------------------------
    def add(self, tool: BaseTool, *, source: str = "builtin", origin: str = "") -> None:
        if tool.name in self._tools:
            previous = self._infos[tool.name].source
            self._failures.append(
                ToolInfo(name=tool.name, source=source, origin=origin, ok=False,
                         error=f"name already registered by {previous}; kept that one")
            )
            return
        tool = _guarded(tool, failure=f"{tool.name} failed")
        self._tools[tool.name] = tool
        self._infos[tool.name] = ToolInfo(
            name=tool.name,
            source=source,
            origin=origin,
            description=(tool.description or "").strip(),
            args_schema=_schema(tool),
        )

    def fail(self, name: str, source: str, origin: str, error: str) -> None:
        self._failures.append(ToolInfo(name=name, source=source, origin=origin, ok=False, error=error))

    @classmethod
    def discover(
        cls,
        *,
        entry_points: bool = True,
        mcp_servers: Mapping[str, Mapping[str, Any]] | None = None,
        only: Iterable[str] | None = None,
        device: str | None = None,
    ) -> Registry:
        registry = cls()
        if entry_points:
            registry.load_entry_points(device=device)
        if mcp_servers:
            registry.load_mcp(mcp_servers)
        if only is not None:
            registry.keep(only)
        return registry

    def load_entry_points(self, *, device: str | None = None) -> None:
        # built-ins first: on a name clash the built-in is kept, whatever order the
        # distributions happen to be found in
        found = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: _dist_name(ep) != OWN_DISTRIBUTION)
        for ep in found:
            dist = _dist_name(ep)
            source = "builtin" if dist == OWN_DISTRIBUTION else f"plugin:{dist}"
            try:
                for tool in _materialise(ep.load(), device=device):
                    self.add(tool, source=source, origin=ep.value)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the rest
                log.warning("tool plugin %s failed to load: %s", ep.value, exc)
                self.fail(ep.name, source, ep.value, f"{type(exc).__name__}: {exc}")

    def load_mcp(self, servers: Mapping[str, Mapping[str, Any]]) -> None:
        """Load tools from MCP servers; config entries follow langchain-mcp-adapters'
        connection dicts (``{"command": ..., "args": [...], "transport": "stdio"}`` or
        ``{"url": ..., "transport": "streamable_http"}``)."""
        from langchain_mcp_adapters.client import MultiServerMCPClient

        for server, connection in servers.items():
            conn = dict(connection)
            conn.setdefault("transport", "stdio" if "command" in conn else "streamable_http")
            origin = conn.get("url") or " ".join([conn.get("command", ""), *conn.get("args", [])])
            try:
                client = MultiServerMCPClient({server: conn})  # type: ignore[dict-item]
                tools = _run_async(client.get_tools(server_name=server))
            except Exception as exc:  # noqa: BLE001
                self.fail(f"{server}/*", f"mcp:{server}", origin, _unwrap_group(exc))
                continue
            for tool in tools:
                self.add(_guarded_mcp(tool, server), source=f"mcp:{server}", origin=origin)

    def keep(self, names: Iterable[str]) -> None:
        wanted = set(names)
        unknown = wanted - set(self._tools)
        if unknown:
            raise UnknownTool(f"Unknown tool(s): {', '.join(sorted(unknown))}. Known: {', '.join(self.names())}")
        self._tools = {k: v for k, v in self._tools.items() if k in wanted}
        self._infos = {k: v for k, v in self._infos.items() if k in wanted}

    # ---- reading -----------------------------------------------------------------
    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(
                f"Unknown tool {name!r}. Registered tools: {', '.join(self.names()) or 'none'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)

    def tools(self) -> list[BaseTool]:
        return [self._tools[n] for n in self.names()]

    def infos(self, *, with_backend: bool = True) -> list[ToolInfo]:
        out = []
        for name in self.names():
            info = self._infos[name]
            tool = self._tools[name]
            if with_backend and hasattr(tool, "backend"):
                try:
                    info = info.model_copy(update={"backend": tool.backend()})
                except Exception as exc:  # noqa: BLE001
                    info = info.model_copy(update={"backend": f"unavailable: {exc}"})
            out.append(info)
        return out + list(self._failures)

    def failures(self) -> list[ToolInfo]:
        return list(self._failures)


def _dist_name(ep: metadata.EntryPoint) -> str:
    """The distribution's name, normalised (PEP 503) so "Lensmith_Plugin.X" reads "lensmith-plugin-x"."""
    name = ep.dist.name if ep.dist is not None else "unknown"
    return re.sub(r"[-_.]+", "-", name).lower()


def _materialise(obj: Any, *, device: str | None) -> list[BaseTool]:
    if isinstance(obj, BaseTool):
        return [obj]
    if inspect.isclass(obj) and issubclass(obj, BaseTool):
        kwargs = {"device": device} if device and "device" in obj.model_fields else {}
        return [obj(**kwargs)]
    if callable(obj):
        made = obj()
        items = made if isinstance(made, list | tuple) else [made]
        tools = [t for t in items if isinstance(t, BaseTool)]
        if len(tools) != len(items):
            raise TypeError(f"{obj!r} returned something that is not a LangChain tool")
        return tools
    raise TypeError(f"entry point gives {type(obj).__name__}, not a tool, tool class or factory")


def _guarded(tool: BaseTool, *, failure: str, convert: Callable[[Any], Any] | None = None) -> BaseTool:
    """Make a function-backed tool (``@tool``, ``StructuredTool``, MCP) safe for the loop.

    LangGraph's tool node only turns ``ToolException`` into an error message when the
    tool has ``handle_tool_error`` set, and lets every other exception end the whole
    turn. A plugin's ``ValueError`` or an MCP server hanging up (``McpError``) must
    instead reach the planner as an error it can read, so both are wrapped into
    ``ToolError``. ``failure`` prefixes that message.
    """
    if not isinstance(tool, StructuredTool):
        if not tool.handle_tool_error:
            tool.handle_tool_error = True
        return tool
    func, coroutine = tool.func, tool.coroutine
    if getattr(func or coroutine, _GUARDED, False):
        return tool

    def wrap_error(exc: Exception) -> ToolError:
        return ToolError(f"{failure}: {_unwrap_group(exc)}")

    update: dict[str, Any] = {"handle_tool_error": tool.handle_tool_error or True}
    if coroutine is not None:

        @functools.wraps(coroutine)  # keeps the signature: injected arguments still resolve
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await coroutine(*args, **kwargs)
            except ToolException:
                raise
            except Exception as exc:  # noqa: BLE001 - ends the call, not the turn
                raise wrap_error(exc) from exc
            return convert(result) if convert else result

        setattr(call, _GUARDED, True)
        update["coroutine"] = call
    if func is not None:

        @functools.wraps(func)
        def call_sync(*args: Any, **kwargs: Any) -> Any:
            try:
                result = func(*args, **kwargs)
            except ToolException:
                raise
            except Exception as exc:  # noqa: BLE001
                raise wrap_error(exc) from exc
            return convert(result) if convert else result

        update["func"] = call_sync
    elif coroutine is not None:
        # async-only tools (every MCP tool): give sync callers a path too
        @functools.wraps(coroutine)
        def run_coroutine(*args: Any, **kwargs: Any) -> Any:
            return _run_async(update["coroutine"](*args, **kwargs))

        update["func"] = run_coroutine
    setattr(update["func"], _GUARDED, True)
    return tool.model_copy(update=update)


def _guarded_mcp(tool: BaseTool, server: str) -> BaseTool:
    def convert(result: Any) -> Any:
        if not (isinstance(result, tuple) and len(result) == 2):
            return result
        content, artifact = result
        if artifact is not None and not isinstance(artifact, dict):
            return result  # a ToolMessage/Command from an interceptor passes through
        data = artifact.get("structured_content") if isinstance(artifact, dict) else None
        return content, GenericArtifact(
            tool=tool.name,
            method=f"mcp:{server}/{tool.name}",
            method_kind="measurement",
            note=f"computed by the external MCP server {server!r}; lensmith cannot see how",
            data=data,
        )

    # the adapter's own error handler re-raises every ToolException but its own, ours too
    tool = tool.model_copy(update={"handle_tool_error": True})
    return _guarded(tool, failure=f"MCP server {server!r} failed while running {tool.name}", convert=convert)


def _schema(tool: BaseTool) -> dict[str, Any] | None:
    try:
        return tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001
        schema = tool.args_schema
        return schema if isinstance(schema, dict) else None


def _unwrap_group(exc: BaseException) -> str:
    # duck-typed: BaseExceptionGroup is a builtin only from Python 3.11 (we support 3.10)
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions:  # type: ignore[attr-defined]
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return f"{type(exc).__name__}: {exc}"


def _run_async(coro: Any) -> Any:
    """Run a coroutine from sync code, even when an event loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
