"""Job shape validation at the intake, and the queue message round trip."""

from __future__ import annotations

import pytest

from imgix_worker.errors import RequestRejected
from imgix_worker.jobs import MAX_MESSAGE_CHARS, decode_message, encode_message, parse_job
from imgix_worker.redaction import Secret

HOSTS = ("*.blob.core.windows.net",)
SOURCE = "https://aem.blob.core.windows.net/c/a.jpg?sv=1&sig=abc"
TARGET = "https://aem.blob.core.windows.net/c/r.png?sv=1&sig=def"


def parse(payload: object, **kw: object):  # type: ignore[no-untyped-def]
    args = dict(job_id="j1", request_id="r1", org_id="o", client_id="c", token=Secret("t"), allowed_hosts=HOSTS,
                max_renditions=5)  # fmt: skip
    args.update(kw)
    return parse_job(payload, **args)  # type: ignore[arg-type]


def test_a_valid_job() -> None:
    job = parse({"source": {"url": SOURCE, "name": "a.jpg"}, "renditions": [{"fmt": "png", "target": TARGET}],
                 "userData": {"k": 1}})  # fmt: skip
    assert job.source_url.reveal() == SOURCE and job.source_name == "a.jpg" and job.user_data == {"k": 1}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "body"),
        ({"renditions": [{"target": TARGET}]}, "source"),
        ({"source": {"name": "x"}, "renditions": [{"target": TARGET}]}, "source.url"),
        ({"source": "http://aem.blob.core.windows.net/a", "renditions": [{"target": TARGET}]}, "source must use https"),
        ({"source": "https://169.254.169.254/latest", "renditions": [{"target": TARGET}]}, "source must name a host"),
        ({"source": SOURCE, "renditions": {}}, "renditions must be an array"),
        ({"source": SOURCE, "renditions": [None]}, "renditions must not be empty"),
        ({"source": SOURCE, "renditions": [{"target": TARGET}] * 6}, "at most 5"),
        ({"source": SOURCE, "renditions": ["png"]}, r"renditions\[0\] must be an object"),
        ({"source": SOURCE, "renditions": [{"fmt": "png"}]}, r"renditions\[0\].target is required"),
        ({"source": SOURCE, "renditions": [{"target": "https://evil.example/x"}]}, r"renditions\[0\].target host"),
        ({"source": SOURCE, "renditions": [{"target": {"urls": [], "maxPartSize": 1}}]}, r"target.urls"),
        ({"source": SOURCE, "renditions": [{"target": {"urls": [TARGET]}}]}, r"target.maxPartSize"),
        ({"source": SOURCE, "renditions": [{"target": {"urls": [TARGET, "http://x"], "maxPartSize": 9}}]},
         r"target.urls\[1\]"),
        ({"source": SOURCE, "renditions": [{"target": {"urls": [TARGET], "minPartSize": 10, "maxPartSize": 9}}]},
         "minPartSize"),
    ],
)  # fmt: skip
def test_bad_shapes_name_the_field(payload: object, field: str) -> None:
    with pytest.raises(RequestRejected, match=field) as info:
        parse(payload)
    assert info.value.status == 400


def test_message_round_trip_and_compression_of_large_jobs() -> None:
    urls = [f"{TARGET}&comp=block&blockid=MDAwMDA{i:03d}" for i in range(50)]
    renditions = [
        {"name": f"r{i}.png", "target": {"urls": urls, "minPartSize": 1, "maxPartSize": 9}} for i in range(20)
    ]
    job = parse({"source": SOURCE, "renditions": renditions}, max_renditions=50)
    message = encode_message(job)
    assert len(message) <= MAX_MESSAGE_CHARS and message.startswith("z1:")
    back = decode_message(message)
    assert back.renditions == job.renditions and back.token.reveal() == "t" and back.source_url.reveal() == SOURCE


def test_decode_refuses_foreign_messages() -> None:
    with pytest.raises(ValueError):
        decode_message('{"hello": 1}')
