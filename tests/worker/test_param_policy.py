"""Overlay images only from the environment's own source or its allowed hosts; billable AI parameters only when
enabled. Unit cases on `ParamPolicy`, and whole jobs through the worker (Azurite, the local renderer)."""

from __future__ import annotations

import pytest

from imgix_worker.errors import RenditionInstructionsError
from imgix_worker.instructions import imgix_params
from imgix_worker.param_policy import ParamPolicy
from imgix_worker.service import Worker

from .conftest import JobRunner, build_worker, image_bytes

POLICY = ParamPolicy(staging_prefix="staged", overlay_hosts=("assets.imgix.net", "*.example.com"), allow_billable=False)
CLOSED = ParamPolicy(staging_prefix="staged", overlay_hosts=(), allow_billable=False)


def check(rendition: dict[str, object], policy: ParamPolicy = POLICY) -> None:
    policy.check(imgix_params(rendition))


@pytest.mark.parametrize(
    "rendition",
    [
        {"mark": "/overlays/logo.png"},
        {"mark": "overlays/logo 2.png"},
        {"mark64": "/overlays/logo.png"},
        {"mark": "https://assets.imgix.net/~text?w=200&txt=Hello+world"},  # the imgix tutorial's watermark
        {"blend": "https://cdn.example.com/texture.png", "blend-mode": "multiply"},
        {"blend": "ff0000"},
        {"blend": "#80ff0000"},
        {"blend": "red"},
        {"mask": "ellipse"},
        {"mask": "corners", "corner-radius": "10"},
        {"mask64": "/masks/star.png"},
        {"imgix": '{"mark-base": "https://assets.imgix.net/", "mark": "logo.png"}'},
        {"m": "/overlays/staged-like-name.png"},  # a name that merely starts like the prefix
    ],
)
def test_paths_in_the_source_shapes_colours_and_allowed_hosts_pass(rendition: dict[str, object]) -> None:
    check(rendition)


@pytest.mark.parametrize(
    ("rendition", "named"),
    [
        ({"mark": "https://evil.example.org/x.png"}, "mark host evil.example.org is not on"),
        ({"mark": "http://assets.imgix.net/logo.png"}, "mark must be a path in the imgix source"),
        ({"mark": "//evil.example.org/x.png"}, "mark must be a path"),
        ({"mark": "https://user@assets.imgix.net/logo.png"}, "mark must not carry credentials"),
        ({"mark": "https://127.0.0.1/logo.png"}, "mark must name a host"),
        ({"m": "data:image/png;base64,iVBOR"}, "mark must be a path"),
        ({"mark": "/staged/0123abcd/source.jpg"}, "mark must not point into the staged sources"),
        ({"mark": "Staged/0123abcd/source.jpg"}, "must not point into the staged sources"),
        ({"mark": "/overlays/../staged/0123abcd/source.jpg"}, "without empty, . or .. segments"),
        ({"mark": "/overlays//logo.png"}, "without empty"),
        ({"mark": "/overlays/%2e%2e/staged/0123abcd/source.jpg"}, "mark must be a plain path"),
        ({"mark": "/overlays/logo.png?mark64=aHR0cHM6Ly9ldmls"}, "mark must be a path without a query"),
        ({"mark": "\\\\evil\\share\\x.png"}, "mark must be a path"),
        ({"mark64": "https://evil.example.org/x.png"}, "mark64 host evil.example.org"),
        ({"blend": "/staged/0123abcd/source.jpg"}, "blend must not point into the staged sources"),
        ({"b": "https://evil.example.org/x.png"}, "blend host"),
        ({"blend64": "ftp://assets.imgix.net/x.png"}, "blend64 must be a path"),
        ({"mask": "https://evil.example.org/m.png"}, "mask host"),
        ({"mask": "/staged/0123abcd/source.jpg"}, "mask must not point into the staged sources"),
        ({"mask64": "/masks/../staged/x/source.jpg"}, "mask64 must be a path without"),
        ({"imgix": '{"mark-base": "/staged/", "mark": "x/source.jpg"}'}, "mark-base must be an https URL"),
        ({"imgix": '{"mark-base": "https://evil.example.org/", "mark": "x.png"}'}, "mark-base host"),
    ],
)
def test_other_overlay_images_are_refused_naming_the_parameter(rendition: dict[str, object], named: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=named.replace(".", r"\.").replace("?", r"\?")):
        check(rendition)


def test_errors_name_the_field_the_caller_sent() -> None:
    from imgix_worker.contract_fields import sent_as

    for rendition, field in (
        ({"watermark": "/staged/job/source.jpg"}, "watermark"),
        ({"watermark": {"image": "/staged/job/source.jpg", "scale": 0.5}}, "watermark.image"),
        ({"watermark": "/logo.png", "mark": "/staged/job/source.jpg"}, "mark"),  # the caller's own mark won
    ):
        params = imgix_params(rendition)
        with pytest.raises(RenditionInstructionsError) as refused:
            POLICY.check(params, sent_as=sent_as(rendition, params))
        assert refused.value.message.startswith(f"{field} must not point into the staged sources")


def test_without_overlay_hosts_only_paths_pass() -> None:
    check({"mark": "/overlays/logo.png"}, CLOSED)
    with pytest.raises(RenditionInstructionsError, match="no overlay hosts are allowed"):
        check({"mark": "https://assets.imgix.net/logo.png"}, CLOSED)


@pytest.mark.parametrize(
    ("rendition", "named"),
    [
        ({"bg-remove": "true"}, "bg-remove"),
        ({"background-remove": "true"}, "bg-remove"),
        ({"imgix": '{"bg-replace": "a beach"}'}, "bg-replace"),
        ({"upscale": "true"}, "upscale"),
        ({"imgix": '{"fit": "fill", "fill": "gen", "w": 400, "h": 200}'}, "fill"),
        ({"imgix": '{"fit": "fill", "fill": "generative"}'}, "fill"),
        ({"fill-gen-prompt": "more sky"}, "fill-gen-prompt"),
        ({"imgix": '{"object-removal-rect": "0,0,10,10"}'}, "object-removal-rect"),
        ({"imgix": '{"fill-gen-prompt64": "more sky"}'}, "fill-gen-prompt64"),
    ],
)
def test_billable_ai_parameters_need_the_setting(rendition: dict[str, object], named: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=f"^{named} is a billable imgix AI feature"):
        check(rendition)
    check(rendition, ParamPolicy(staging_prefix="staged", overlay_hosts=(), allow_billable=True))


def test_fills_that_are_not_generative_are_not_billable() -> None:
    check({"imgix": '{"fit": "fill", "fill": "blur", "w": 400, "h": 200}'})
    check({"imgix": '{"fit": "fill", "fill": "solid", "fill-color": "fff"}'})


@pytest.fixture(scope="module")
def open_worker(worker_env: dict[str, str]) -> Worker:
    return build_worker({**worker_env, "IMGIX_OVERLAY_HOSTS": "assets.imgix.net"})


def test_a_job_cannot_overlay_another_jobs_staged_source(runner: JobRunner) -> None:
    # worker_env's STAGING_PREFIX is "tests": every staged original lives under tests/<jobId>/.
    renditions: list[dict[str, object]] = [
        {"name": "ok.png", "fmt": "png", "width": 100},
        {"name": "steal.png", "fmt": "png", "mark": "/tests/0123456789abcdef/source.jpg"},
        {"name": "remote.png", "fmt": "png", "imgix": '{"mark": "https://assets.imgix.net/logo.png"}'},
        {"name": "billable.png", "fmt": "png", "bg-remove": "true"},
        {"name": "watermark.png", "fmt": "png", "watermark": "/tests/0123456789abcdef/source.jpg"},
        {"name": "object.png", "fmt": "png", "watermark": {"image": "/tests/0123456789abcdef/source.jpg"}},
    ]
    done = runner.run(image_bytes(), renditions)
    outcome = {e["rendition"]["name"]: (e["type"], e.get("errorReason"), e.get("errorMessage")) for e in done.events}
    assert outcome["ok.png"][0] == "rendition_created"
    named = [("steal.png", "mark"), ("remote.png", "mark"), ("billable.png", "bg-remove")]
    # The worker makes imgix's `mark` from `watermark`: the error names the field the caller sent.
    named += [("watermark.png", "watermark"), ("object.png", "watermark.image")]
    for name, param in named:
        kind, reason, message = outcome[name]
        assert (kind, reason) == ("rendition_failed", "RenditionInstructionsError")
        assert str(message).startswith(param + " ")


def test_an_allowed_overlay_host_reaches_imgix(runner: JobRunner, open_worker: Worker) -> None:
    renditions: list[dict[str, object]] = [
        {"name": "tutorial.png", "fmt": "png", "imgix": '{"mark": "https://assets.imgix.net/~text?txt=Hello"}'},
    ]
    done = runner.run(image_bytes(), renditions, worker=open_worker)
    assert [e["type"] for e in done.events] == ["rendition_created"]
