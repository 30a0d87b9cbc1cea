"""A small MCP server with tasks (2025-11-25) for mcpwire's interop tests, on the Python SDK
`mcp` 1.30 (its experimental task support: `server.experimental.enable_tasks()`, the SDK's
in-memory task store, its default `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel`
handlers and its `notifications/tasks/status`). The task machinery is the SDK's; this file
only declares tools that run as tasks.

    python tasks_server.py stdio [--poll-ms MS]

`--poll-ms` is the `pollInterval` the tasks advertise (default: the SDK's 500 ms).

Tools (each `execution.taskSupport`):

- `work(steps, delay_ms, notify)` (optional): `steps` steps of `delay_ms`, each announced
  with `update_status("step I of N", notify=notify)`; completes with "done after N steps"
  (with a status notification when `notify`).
- `forever()` (required): works until cancelled.
- `broken()` (required): fails with "it broke".
- `ask()` (required): asks an elicitation from inside the task (input_required, delivered on
  `tasks/result`), then completes with what was answered.
- `ask_as_task()` (required): sends the elicitation task-augmented (`elicit_as_task`): the
  client runs it as its own task, which the server polls.
- `sample_as_task()` (required): `create_message_as_task`, the same for sampling.

Every `tasks/get` the server answers, and every `tasks/cancel`, is recorded as one line
("get TASK_ID", "cancel TASK_ID") appended to the file TASKS_EVENTS names, if it is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import anyio
import mcp.types as types
from mcp.server.experimental.task_context import ServerTaskContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.experimental.tasks.in_memory_task_store import InMemoryTaskStore

server: Server = Server("mcpwire-tasks-peer", version="1.0.0")
_poll_ms: int | None = None


def _event(line: str) -> None:
    print(f"tasks-event: {line}", file=sys.stderr, flush=True)
    path = os.environ.get("TASKS_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Store(InMemoryTaskStore):
    """The SDK's store, with the poll interval of `--poll-ms`."""

    async def create_task(self, metadata, task_id=None):  # type: ignore[no-untyped-def]
        task = await super().create_task(metadata, task_id)
        if _poll_ms is not None:
            stored = self._tasks[task.taskId]  # pyright: ignore[reportPrivateUsage]
            stored.task.pollInterval = _poll_ms
            task = stored.task.model_copy()
        return task

    async def get_task(self, task_id):  # type: ignore[no-untyped-def]
        task = await super().get_task(task_id)
        if task is not None and _poll_ms is not None:
            task.pollInterval = _poll_ms
        return task


def _tool(name: str, support: str, description: str, properties: dict | None = None) -> types.Tool:
    return types.Tool(
        name=name,
        description=description,
        inputSchema={"type": "object", "properties": properties or {}},
        execution=types.ToolExecution(taskSupport=support),
    )


@server.list_tools()
async def list_tools() -> list[types.Tool]:
    return [
        _tool(
            "work",
            "optional",
            "Steps of work, each announced by a status (notified when notify).",
            {
                "steps": {"type": "integer"},
                "delay_ms": {"type": "integer"},
                "notify": {"type": "boolean"},
            },
        ),
        _tool("forever", "required", "Works until cancelled."),
        _tool("broken", "required", "Fails."),
        _tool("ask", "required", "Asks an elicitation from inside the task."),
        _tool("ask_as_task", "required", "Asks a task-augmented elicitation."),
        _tool("sample_as_task", "required", "Asks a task-augmented sampling request."),
    ]


def _text(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


@server.call_tool()
async def call_tool(name: str, arguments: dict) -> types.CallToolResult | types.CreateTaskResult:
    ctx = server.request_context
    if not ctx.experimental.is_task:
        if name == "work":
            return _text("done at once")
        raise ValueError(f"{name} runs only as a task")

    async def work(task: ServerTaskContext) -> types.CallToolResult:
        steps = int(arguments.get("steps", 1))
        delay = int(arguments.get("delay_ms", 50)) / 1000
        notify = bool(arguments.get("notify", True))
        # Every status stands `delay` before the next one (the first, the created task's,
        # and the last included), so a reader that takes the latest status sees each.
        await anyio.sleep(delay)
        for i in range(1, steps + 1):
            await task.update_status(f"step {i} of {steps}", notify=notify)
            await anyio.sleep(delay)
        result = _text(f"done after {steps} steps")
        if notify:
            await task.complete(result, notify=True)
        return result

    async def forever(task: ServerTaskContext) -> types.CallToolResult:
        while not task.is_cancelled:
            await anyio.sleep(0.05)
        return _text("stopped")

    async def broken(task: ServerTaskContext) -> types.CallToolResult:
        await anyio.sleep(0.05)
        raise RuntimeError("it broke")

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}

    async def ask(task: ServerTaskContext) -> types.CallToolResult:
        answer = await task.elicit(message="Your name?", requestedSchema=schema)
        return _text(f"{answer.action}: {(answer.content or {}).get('name')}")

    async def ask_as_task(task: ServerTaskContext) -> types.CallToolResult:
        answer = await task.elicit_as_task(message="Your name, as a task?", requestedSchema=schema)
        return _text(f"{answer.action}: {(answer.content or {}).get('name')}")

    async def sample_as_task(task: ServerTaskContext) -> types.CallToolResult:
        answer = await task.create_message_as_task(
            messages=[
                types.SamplingMessage(role="user", content=types.TextContent(type="text", text="Say hi"))
            ],
            max_tokens=16,
        )
        content = answer.content
        text = content.text if isinstance(content, types.TextContent) else str(content)
        return _text(f"{answer.model}: {text}")

    works = {
        "work": work,
        "forever": forever,
        "broken": broken,
        "ask": ask,
        "ask_as_task": ask_as_task,
        "sample_as_task": sample_as_task,
    }
    if name not in works:
        raise ValueError(f"unknown tool {name}")
    return await ctx.experimental.run_task(works[name])


# The SDK warns that its 2025-11-25 tasks are deprecated (the 2026 revision moved them to an
# extension); they are what this peer is for.
warnings.filterwarnings("ignore", category=DeprecationWarning)
server.experimental.enable_tasks(store=Store())
_default_get = server.request_handlers[types.GetTaskRequest]
_default_cancel = server.request_handlers[types.CancelTaskRequest]


async def _get(req: types.GetTaskRequest) -> types.ServerResult:
    _event(f"get {req.params.taskId}")
    return await _default_get(req)


async def _cancel(req: types.CancelTaskRequest) -> types.ServerResult:
    _event(f"cancel {req.params.taskId}")
    return await _default_cancel(req)


server.request_handlers[types.GetTaskRequest] = _get
server.request_handlers[types.CancelTaskRequest] = _cancel


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio"])
    parser.add_argument("--poll-ms", type=int)
    args = parser.parse_args()
    global _poll_ms
    _poll_ms = args.poll_ms
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
