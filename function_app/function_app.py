"""Azure Functions entry point (Python v2 model): wiring only.

`POST /api/worker[/{recipe}]` is the Asset Compute intake; it answers at once and enqueues the job through the
queue output binding. The `jobs` queue trigger runs the job and raises when some events were not delivered, so the
host redelivers the message; `jobs-poison` (where the host moves a message after `maxDequeueCount` failures)
reports as failed the renditions not yet reported, and never raises. Settings are validated at load, so a missing
or invalid one stops the app with its name; clients are built on first use.
"""

import json
import os

import azure.functions as func

from imgix_worker.logs import log
from imgix_worker.service import JOBS_QUEUE, POISON_QUEUE, get_worker
from imgix_worker.settings import Settings

SETTINGS = Settings.from_env(os.environ)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="worker/{recipe?}", methods=None)
@app.queue_output(arg_name="jobs", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def worker(req: func.HttpRequest, jobs: func.Out[str]) -> func.HttpResponse:
    """The intake: authenticate, validate, enqueue, answer `{"activationId": ...}`."""
    result = get_worker(SETTINGS).intake.handle(
        req.method, dict(req.headers), req.get_body(), recipe=req.route_params.get("recipe")
    )
    if result.message is not None:
        jobs.set(result.message)
    body = None if result.body is None else json.dumps(result.body)
    return func.HttpResponse(body, status_code=result.status, mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def process(msg: func.QueueMessage) -> None:
    """The processor: one job per message; renditions already reported (by an earlier delivery) are skipped.

    :raises EventsUndelivered: some renditions' events never reached the ingress: the host makes the message
        visible again after `visibilityTimeout` and redelivers it (to `jobs-poison` after `maxDequeueCount`).
    """
    log("message received", dequeue_count=msg.dequeue_count, message_id=msg.id)
    get_worker(SETTINGS).process_message(msg.get_body(), dequeue_count=msg.dequeue_count)


@app.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
def poisoned(msg: func.QueueMessage) -> None:
    """Jobs that failed every attempt: report each rendition not yet reported as failed, and remove the staged
    source. Never raises: what cannot be done (an event, the cleanup, a marker) is logged, since a raise would only
    move the message to `jobs-poison-poison`, which nothing reads; the lifecycle rule removes what is left."""
    log("poison message", message_id=msg.id)
    get_worker(SETTINGS).fail_message(msg.get_body())
