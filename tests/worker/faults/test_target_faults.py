"""Faults of AEM's rendition targets: a scripted HTTPS proxy in front of Azurite takes the target URLs (on its own
host:port), so each PUT can be refused, delayed or redirected while every block that gets through is real."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from PIL import Image

from imgix_worker.service import Worker
from local_platform.asset_compute_storage import TargetOptions, block_id
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, image_bytes
from .fakes import Reply, ScriptedProxy, Stall
from .support import (
    Containers,
    assert_contained,
    assert_failed_without_blocks,
    assert_one_event_each,
    run_checked,
)
from .test_storage_faults import retarget, worker_allowing

PNG = {"name": "r.png", "fmt": "png", "width": 400}


@pytest.fixture
def target_proxy(azurite: Azurite) -> Iterator[ScriptedProxy]:
    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", ensure_tls(), name="faulty-target") as proxy:
        yield proxy


def through(
    make_worker: Callable[..., Worker], azurite: Azurite, proxy: ScriptedProxy, imgix: ScriptedProxy, **settings: str
) -> Worker:
    return worker_allowing(make_worker, azurite, proxy.port, IMGIX_BASE_URL=imgix.url, **settings)


def test_target_413_is_rendition_too_large(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    target_proxy.default = Reply(413, {"x-ms-error-code": "RequestBodyTooLarge"})
    worker = through(make_worker, azurite, target_proxy, imgix_proxy)
    done = run_checked(
        runner, containers, image_bytes(), [PNG], worker=worker, edit=lambda b: retarget(b, azurite, target_proxy.port)
    )

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "RenditionTooLarge")
    assert len(target_proxy.seen("PUT")) == 1  # final: not retried
    assert_contained(done, containers)


def test_target_503_then_201_delivers_exactly_what_imgix_rendered(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    target_proxy.script(Reply(503, {"x-ms-error-code": "ServerBusy"}))
    worker = through(make_worker, azurite, target_proxy, imgix_proxy)
    done = run_checked(
        runner, containers, image_bytes(), [PNG], worker=worker, edit=lambda b: retarget(b, azurite, target_proxy.port)
    )

    assert_one_event_each(done)
    assert done.reasons == [None]
    puts = target_proxy.seen("PUT")
    assert [p.action for p in puts] == ["reply 503", "forward"] and puts[0].path == puts[1].path
    ((_, rendered),) = imgix_proxy.forwarded()  # imgix was asked once: the retry re-read the spool
    assert runner.commit_and_read(done.targets[0]) == rendered
    assert done.event("r.png")["metadata"]["repo:size"] == len(rendered)
    assert_contained(done, containers)


def test_a_multipart_target_failing_one_part_once(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    second_block = f"blockid={quote(block_id(1), safe='')}"
    target_proxy.match = lambda method, path: method == "PUT" and second_block in path
    target_proxy.script(Reply(500, {"x-ms-error-code": "InternalError"}))
    worker = through(make_worker, azurite, target_proxy, imgix_proxy)
    parts = TargetOptions(estimated_size=64 * 1024, min_part_size=1024, max_part_size=1024)  # 1 KiB parts
    done = run_checked(
        runner,
        containers,
        image_bytes(size=(640, 480)),
        [PNG],
        worker=worker,
        targets=parts,
        edit=lambda b: retarget(b, azurite, target_proxy.port),
    )

    assert_one_event_each(done)
    assert done.reasons == [None]
    ((_, rendered),) = imgix_proxy.forwarded()
    puts = target_proxy.seen("PUT")
    assert len(rendered) > 2048 and len(puts) == -(-len(rendered) // 1024) + 1  # every part, one of them twice
    assert runner.commit_and_read(done.targets[0]) == rendered
    assert Image.open(io.BytesIO(rendered)).size == (400, 300)
    assert_contained(done, containers)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(403, {"x-ms-error-code": "AuthenticationFailed"}), "GenericError"),  # an expired SAS
        (Reply(404, {"x-ms-error-code": "ContainerNotFound"}), "GenericError"),
        (Reply(400, {"x-ms-error-code": "InvalidBlockId"}), "GenericError"),
    ],
    ids=["403", "404", "400"],
)
def test_target_refusals_are_final(
    reply: Reply,
    reason: str,
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    target_proxy.default = reply
    worker = through(make_worker, azurite, target_proxy, imgix_proxy)
    done = run_checked(
        runner, containers, image_bytes(), [PNG], worker=worker, edit=lambda b: retarget(b, azurite, target_proxy.port)
    )

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, reason)
    assert str(reply.status) in str(done.events[0]["errorMessage"])
    assert len(target_proxy.seen("PUT")) == 1
    assert_contained(done, containers)


def test_a_target_redirecting_elsewhere_is_never_followed(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", ensure_tls(), default=Reply(201)) as elsewhere:
        target_proxy.default = Reply(307, {"Location": f"{elsewhere.url}/steal?everything=1"})
        worker = through(make_worker, azurite, target_proxy, imgix_proxy)
        done = run_checked(
            runner,
            containers,
            image_bytes(),
            [PNG],
            worker=worker,
            edit=lambda b: retarget(b, azurite, target_proxy.port),
        )
        assert elsewhere.seen() == []

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert "307" in str(done.events[0]["errorMessage"])
    assert_contained(done, containers)


def test_a_target_stalling_past_the_deadline(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    target_proxy: ScriptedProxy,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    target_proxy.default = Stall(then=Reply(503))  # released at teardown, and then refused
    worker = through(make_worker, azurite, target_proxy, imgix_proxy, JOB_DEADLINE_SECONDS="6")
    done = run_checked(
        runner, containers, image_bytes(), [PNG], worker=worker, edit=lambda b: retarget(b, azurite, target_proxy.port)
    )

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert_contained(done, containers)
