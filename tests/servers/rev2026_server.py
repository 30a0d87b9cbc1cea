"""A small MCP server for mcpwire's interop tests, built on the Python SDK `mcp` 2.x.

It speaks revision 2026-07-28 (per-request `_meta`, `server/discover`, `resultType`,
multi-round-trip `input_required`, `subscriptions/listen`) and, because the SDK is
dual-era, also the 2025-era `initialize` handshake.

    python rev2026_server.py stdio
    python rev2026_server.py http --port PORT [--json]
    python rev2026_server.py sse --port PORT    (the 2024-11-05 HTTP+SSE transport: GET /sse)

Tools: echo, progress, confirm, interview, later, slow, touch, bump, end_listens. Resources: test://static,
test://counter, test://greeting/{name}. Prompt: greet.

`slow` records what happened to it, one line per event ("started ID SECONDS",
"finished ID", "cancelled ID"), on stderr and, if REV2026_EVENTS names a file, appended
to that file. REV2026_LOG_LEVEL (default WARNING) sets the SDK's and uvicorn's log level.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Annotated

import anyio
from mcp_types import CallToolResult, InputRequiredResult, TextContent
from pydantic import BaseModel

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)

server = MCPServer(
    "mcpwire-rev2026-peer",
    version="1.0.0",
    instructions="A test peer for mcpwire: echo, progress, confirm, interview, later, slow, touch, bump.",
    # uvicorn's access log and the SDK's INFO lines are noise in a test log.
    log_level=os.environ.get("REV2026_LOG_LEVEL", "WARNING"),  # type: ignore[arg-type]
)

_counter = 0


def _event(line: str) -> None:
    """Records a `slow` event on stderr and in $REV2026_EVENTS."""
    print(f"rev2026-event: {line}", file=sys.stderr, flush=True)
    path = os.environ.get("REV2026_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@server.tool(structured_output=False)
def echo(message: str) -> str:
    """Answers with the message it was given."""
    return message


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Sends `steps` progress notifications (when the request has a progressToken), then answers."""
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i} of {steps}")
    return f"done {steps} steps"


class Confirmation(BaseModel):
    confirmed: bool


def ask_confirmation() -> Elicit[Confirmation]:
    return Elicit("Please confirm.", Confirmation)


@server.tool()
def confirm(answer: Annotated[ElicitationResult[Confirmation], Resolve(ask_confirmation)]) -> str:
    """Asks the client to confirm through elicitation (under 2026-07-28: an input_required result)."""
    if isinstance(answer, AcceptedElicitation):
        return f"confirmed={str(answer.data.confirmed).lower()}"
    return f"action={answer.action}"


@server.tool()
async def slow(seconds: float, ctx: Context, tag: str = "") -> str:
    """Sleeps `seconds` seconds; records whether it finished or was cancelled.

    Events name the call by `tag`, or by its JSON-RPC id when no tag is given (ids are
    not unique across HTTP clients: give a tag there).
    """
    rid = tag or ctx.request_id
    _event(f"started {rid} {seconds}")
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            _event(f"cancelled {rid}")
        raise
    _event(f"finished {rid}")
    return f"slept {seconds}"


@server.tool()
async def touch(ctx: Context) -> str:
    """Sends notifications/tools/list_changed to subscriptions/listen listeners."""
    await ctx.notify_tools_changed()
    return "touched"


@server.tool()
async def bump(ctx: Context) -> int:
    """Increments test://counter and sends notifications/resources/updated for it to listeners
    (a structured result: `{"result": N}`, with an outputSchema)."""
    global _counter
    _counter += 1
    await ctx.notify_resource_updated("test://counter")
    return _counter


class Name(BaseModel):
    name: str


def ask_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


def ask_greeting_ok(name: Annotated[Name, Resolve(ask_name)]) -> Elicit[Confirmation]:
    return Elicit(f"Greet {name.name}?", Confirmation)


@server.tool()
def interview(
    name: Annotated[Name, Resolve(ask_name)],
    ok: Annotated[Confirmation, Resolve(ask_greeting_ok)],
) -> str:
    """Two rounds of input_required: asks a name, then (knowing it) a confirmation."""
    return f"hello, {name.name}" if ok.confirmed else f"not greeting {name.name}"


@server.tool()
def later(ctx: Context) -> CallToolResult | InputRequiredResult:
    """An input_required result with only `requestState` (no inputRequests: "retry now"),
    then, on the retry that echoes it, a complete result."""
    if ctx.request_state == "later-1":
        return CallToolResult(content=[TextContent(type="text", text="done later")])
    return InputRequiredResult(request_state="later-1")


@server.tool()
def end_listens() -> str:
    """Ends every open subscriptions/listen stream gracefully: each gets its final
    `{"resultType":"complete"}` result."""
    # MCPServer builds its ListenHandler itself and exposes no accessor for it.
    entry = server._lowlevel_server.get_request_handler("subscriptions/listen")
    assert entry is not None
    entry.handler.close()
    return "ended"


@server.resource("test://static", name="static", mime_type="text/plain")
def static_resource() -> str:
    return "hello from the rev2026 peer"


@server.resource("test://counter", name="counter", mime_type="text/plain")
def counter_resource() -> str:
    return str(_counter)


@server.resource("test://greeting/{name}", name="greeting", mime_type="text/plain")
def greeting_resource(name: str) -> str:
    return f"hello, {name}"


@server.prompt()
def greet(name: str) -> str:
    """A one-message prompt."""
    return f"Please greet {name}."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http", "sse"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="answer with application/json, not SSE")
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "sse":
        server.run("sse", host=args.host, port=args.port, sse_path="/sse", message_path="/messages/")
    else:
        server.run(
            "streamable-http",
            host=args.host,
            port=args.port,
            streamable_http_path="/mcp",
            json_response=args.json,
        )


if __name__ == "__main__":
    main()
