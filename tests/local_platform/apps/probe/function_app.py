"""A throwaway function app the local host's tests run in place of `function_app/`: every function records what
the host handed it (one JSON line per invocation in the file `PROBE_RECORD`), so a test can tell what the host did.

`echo` answers an HTTP request with what it saw. `handle` takes messages from `%PROBE_QUEUE%`: body `fail` raises,
`hang-once` outlives functionTimeout on its first delivery and succeeds after, `hold` waits until
`PROBE_HOLD_FOR` invocations run at once (or `PROBE_TOTAL` have started), anything else is echoed to
`%PROBE_QUEUE%-done`. `poisoned` (on `%PROBE_QUEUE%-poison`) records and raises, so its messages go on to
`-poison-poison`. `relay` (on `%PROBE_QUEUE%-relay`) returns its body to `%PROBE_QUEUE%-done` through `$return`.
"""

import json
import os
import threading
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_lock = threading.Condition()
_running = 0
_started = 0
_never = threading.Event()


def _record(**fields: object) -> None:
    with _lock, open(os.environ["PROBE_RECORD"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"at": time.time(), **fields}) + "\n")


@app.route(route="echo/{name}/{extra?}", methods=["GET", "POST"])
@app.queue_output(arg_name="done", queue_name="%PROBE_QUEUE%-done", connection="AzureWebJobsStorage")
def echo(req: func.HttpRequest, done: func.Out[str]) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "body": req.get_body().decode("utf-8"),
    }
    if req.method == "POST":
        done.set(req.get_body().decode("utf-8"))
    return func.HttpResponse(json.dumps(seen), status_code=201, mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name="%PROBE_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="%PROBE_QUEUE%-done", connection="AzureWebJobsStorage")
def handle(msg: func.QueueMessage, done: func.Out[str]) -> None:
    global _running, _started
    body = msg.get_body().decode("utf-8")
    with _lock:
        _running += 1
        _started += 1
        running = _running
    _record(function="handle", id=msg.id, body=body, dequeue_count=msg.dequeue_count, running=running)
    try:
        if body == "fail":
            raise RuntimeError("told to fail")
        if body == "hang-once" and msg.dequeue_count == 1:
            _never.wait(120)  # far past functionTimeout: the host must give up on this invocation
        if body == "hold":
            with _lock:
                hold_for, total = int(os.environ["PROBE_HOLD_FOR"]), int(os.environ["PROBE_TOTAL"])
                _lock.notify_all()
                _lock.wait_for(lambda: _running >= hold_for or _started >= total, timeout=60)
        done.set(f"{body}:{msg.dequeue_count}")
    finally:
        with _lock:
            _running -= 1
            _lock.notify_all()


@app.queue_trigger(arg_name="msg", queue_name="%PROBE_QUEUE%-poison", connection="AzureWebJobsStorage")
def poisoned(msg: func.QueueMessage) -> None:
    _record(function="poisoned", id=msg.id, body=msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count)
    raise RuntimeError("the poison handler fails too")


@app.queue_trigger(arg_name="msg", queue_name="%PROBE_QUEUE%-relay", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="%PROBE_QUEUE%-done", connection="AzureWebJobsStorage")
def relay(msg: func.QueueMessage) -> str:
    return f"relayed:{msg.get_body().decode('utf-8')}"
