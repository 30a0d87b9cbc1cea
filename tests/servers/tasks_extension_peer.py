"""A minimal 2026-07-28 stdio server with the tasks extension (SEP-2663), standard library
only, for mcpwire's adapter tests: no SDK implements the extension yet, so this one is ours
and small enough to read. It is not the proof of interoperability (the Python SDK's
2025-11-25 tasks are, in tasks_server.py); it drives the client's own path end to end over a
real child process.

    python3 tasks_extension_peer.py

`server/discover` declares `io.modelcontextprotocol/tasks`. Every `tools/call` whose request
declares the extension becomes a task (`resultType: "task"`, `pollIntervalMs: 100`); one that
does not is answered -32021. Tools: `greet` (input_required with one elicitation keyed "name",
repeated on every poll until `tasks/update` answers it, then completed with "hello NAME"),
`forever` (works until `tasks/cancel`). Each request's method (and task id) is appended to
the file TASKS_EXTENSION_EVENTS names.
"""

import json
import os
import sys

EXT = "io.modelcontextprotocol/tasks"
tasks = {}


def event(line):
    path = os.environ.get("TASKS_EXTENSION_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def task(tid):
    t = tasks[tid]
    out = {"taskId": tid, "status": t["status"], "createdAt": "2026-12-02T00:00:00Z",
           "lastUpdatedAt": "2026-12-02T00:00:00Z", "ttlMs": 60000, "pollIntervalMs": 100}
    if t["status"] == "input_required":
        out["inputRequests"] = {"name": {"method": "elicitation/create", "params": {
            "mode": "form", "message": "Your name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}}}
    if t["status"] == "completed":
        out["result"] = {"content": [{"type": "text", "text": "hello " + t["name"]}]}
    return out


def handle(method, params):
    meta = params.get("_meta", {})
    caps = meta.get("io.modelcontextprotocol/clientCapabilities", {})
    if method == "server/discover":
        return {"supportedVersions": ["2026-07-28"],
                "capabilities": {"tools": {}, "extensions": {EXT: {}}},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "ext-peer", "version": "1"}}}
    if method == "tools/list":
        return {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in ("greet", "forever")]}
    if method == "tools/call":
        if EXT not in caps.get("extensions", {}):
            raise LookupError("the extension")
        tid = "t-%d" % (len(tasks) + 1)
        tasks[tid] = {"tool": params["name"], "status": "working", "name": None}
        event("call " + tid)
        return dict(task(tid), resultType="task")
    tid = params.get("taskId")
    if tid not in tasks:
        raise KeyError(tid)
    t = tasks[tid]
    event(method + " " + tid)
    if method == "tasks/get":
        if t["tool"] == "greet" and t["status"] == "working":
            t["status"] = "input_required" if t["name"] is None else "completed"
        return task(tid)
    if method == "tasks/update":
        answer = params["inputResponses"].get("name")
        if answer is not None and t["status"] == "input_required":
            t["name"] = answer["content"]["name"]
            t["status"] = "working"
        return {}
    if method == "tasks/cancel":
        t["status"] = "cancelled"
        return {}
    raise NotImplementedError(method)


for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message or "method" not in message:
        continue
    try:
        result = handle(message["method"], message.get("params") or {})
        result.setdefault("resultType", "complete")
        send({"jsonrpc": "2.0", "id": message["id"], "result": result})
    except KeyError:
        send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32602, "message": "unknown task"}})
    except LookupError:
        send({"jsonrpc": "2.0", "id": message["id"], "error": {
            "code": -32021, "message": "Missing required client capability",
            "data": {"requiredCapabilities": {"extensions": {EXT: {}}}}}})
    except NotImplementedError:
        send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "method not found"}})
