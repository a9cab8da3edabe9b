"""A failed status poll of an asynchronous copy is retried as a poll, never by starting the copy again.

Azure refuses a second Copy Blob on a blob whose copy is still pending (409 PendingCopyOperation), so restarting
would fail the job and leave the first copy running. A scripted proxy in front of Azurite fails the staged blob's
status polls (Get Blob Properties): once, and the copy completes with exactly one Copy Blob started; or every time,
and the copy started is aborted by its own id before the job fails, and nothing stays staged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from imgix_worker.errors import GenericError
from imgix_worker.jobs import Job
from imgix_worker.transport import Deadline
from local_platform.azurite import Azurite
from local_platform.platform import IMGIX_CONTAINER
from local_platform.tls import ensure_tls

from ..conftest import JobRunner
from .fakes import PASS, Action, Reply, ScriptedProxy, Seen
from .support import STAGING_PREFIX, Containers
from .test_staged_size import SMALL, async_stager, is_staging_copy, staged_job


class Drop(Action):
    """Close the connection without answering, as a connection lost mid-exchange does."""

    name = "drop"

    def serve(self, handler: Any, body: bytes) -> None:
        handler.close_connection = True


FAULTS = {"503": lambda: Reply(503), "dropped connection": Drop}


def polls_of(job: Job) -> Callable[[str, str], bool]:
    """Get Blob Properties of the job's staged blob: how the worker polls its copy's status."""

    def is_status_poll(method: str, path: str) -> bool:
        return method == "HEAD" and f"/{IMGIX_CONTAINER}/{STAGING_PREFIX}/{job.job_id}/source." in path

    return is_status_poll


def copies_started(proxy: ScriptedProxy) -> list[Seen]:
    return [s for s in proxy.seen("PUT") if is_staging_copy("PUT", s.path)]


def aborts(proxy: ScriptedProxy) -> list[Seen]:
    return [s for s in proxy.seen("PUT") if "comp=copy" in s.path and "copyid=" in s.path.lower()]


def staged_left(containers: Containers, job: Job) -> list[str]:
    return [b.name for b in containers.imgix.list_blobs(name_starts_with=f"{STAGING_PREFIX}/{job.job_id}/")]


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_failed_first_poll_is_polled_again_without_a_second_copy(
    runner: JobRunner, azurite: Azurite, containers: Containers, fault: Callable[[], Action]
) -> None:
    job, _ = staged_job(runner, SMALL)
    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", ensure_tls(), match=polls_of(job)) as proxy:
        proxy.script(fault())
        stager = async_stager(runner, azurite, proxy)
        staged = stager.stage(job, Deadline.after(30))
        assert len(copies_started(proxy)) == 1, proxy.seen()
        polls = [s.action for s in proxy.seen("HEAD") if polls_of(job)("HEAD", s.path)]
        assert polls[0] == fault().name and PASS.name in polls[1:], polls
        assert aborts(proxy) == []
        assert staged.size == len(SMALL)
        assert containers.imgix.get_blob_client(staged.blob_name).download_blob().readall() == SMALL
        stager.remove(job)
    assert staged_left(containers, job) == []


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_copy_whose_polls_fail_until_the_deadline_is_aborted(
    runner: JobRunner, azurite: Azurite, containers: Containers, fault: Callable[[], Action]
) -> None:
    job, _ = staged_job(runner, SMALL)
    with ScriptedProxy(
        f"https://localhost:{azurite.blob_port}", ensure_tls(), match=polls_of(job), default=fault()
    ) as proxy:
        stager = async_stager(runner, azurite, proxy)
        with pytest.raises(GenericError, match="checking the copy of the source"):
            stager.stage(job, Deadline.after(2))
        assert len(copies_started(proxy)) == 1, proxy.seen()
        (abort,) = aborts(proxy)
        # No poll ever answered: the id aborted is the one the start returned, the copy Azurite recorded.
        copy_id = containers.imgix.get_blob_client(stager.blob_name(job)).get_blob_properties().copy.id
        assert parse_qs(urlsplit(abort.path).query)["copyid"] == [copy_id]
        stager.remove(job)
    assert staged_left(containers, job) == []
