"""The worker-side check of the relay's signature: the shared vector, each rejection, and the replay cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from imgix_worker.errors import RequestRejected
from imgix_worker.redaction import Secret
from imgix_worker.relay_auth import (
    MAX_SKEW_SECONDS,
    ReplayCache,
    relay_signature,
    verify_relay_signature,
)

VECTOR = json.loads((Path(__file__).parents[1] / "vectors" / "relay-signature.json").read_text(encoding="utf-8"))
KEY = Secret(VECTOR["key"])
BODY = VECTOR["body"].encode("utf-8")
TS = int(VECTOR["timestamp"])


def vector_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "x-relay-timestamp": VECTOR["timestamp"],
        "x-relay-signature": VECTOR["signature"],
        "x-request-id": VECTOR["requestId"],
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v != "<drop>"}


def assert_rejected(headers: dict[str, str], body: bytes = BODY, *, now: float = TS, key: Secret = KEY) -> None:
    with pytest.raises(RequestRejected) as caught:
        verify_relay_signature(key, headers, body, now=now, replays=ReplayCache())
    assert caught.value.status == 401
    assert caught.value.message == "unauthorized"


def test_shared_vector_signature_is_reproduced() -> None:
    assert relay_signature(KEY, VECTOR["timestamp"], VECTOR["requestId"], BODY) == VECTOR["signature"]


def test_shared_vector_is_accepted() -> None:
    verify_relay_signature(KEY, vector_headers(), BODY, now=TS, replays=ReplayCache())


@pytest.mark.parametrize("offset", [-MAX_SKEW_SECONDS, MAX_SKEW_SECONDS, -1.5, 0.999])
def test_timestamps_within_the_window_are_accepted(offset: float) -> None:
    verify_relay_signature(KEY, vector_headers(), BODY, now=TS + offset, replays=ReplayCache())


@pytest.mark.parametrize("offset", [-MAX_SKEW_SECONDS - 1, MAX_SKEW_SECONDS + 1, 86400])
def test_timestamps_outside_the_window_are_rejected(offset: float) -> None:
    assert_rejected(vector_headers(), now=TS + offset)


@pytest.mark.parametrize("name", ["x-relay-timestamp", "x-relay-signature"])
def test_missing_header_is_rejected(name: str) -> None:
    assert_rejected(vector_headers(**{name: "<drop>"}))


@pytest.mark.parametrize(
    "timestamp",
    ["", " 1767225600", "1767225600 ", "+1767225600", "-1767225600", "1767225600.0", "1e9", "abc", "1" * 13],
)
def test_malformed_timestamp_is_rejected(timestamp: str) -> None:
    assert_rejected(vector_headers(**{"x-relay-timestamp": timestamp}))


@pytest.mark.parametrize(
    "signature",
    [
        "",
        VECTOR["signature"].removeprefix("sha256="),
        VECTOR["signature"].upper(),
        VECTOR["signature"].replace("sha256=", "sha1="),
        VECTOR["signature"] + "00",
        VECTOR["signature"][:-2],
        VECTOR["signature"] + " ",
        "sha256=" + "z" * 64,
    ],
)
def test_malformed_signature_is_rejected(signature: str) -> None:
    assert_rejected(vector_headers(**{"x-relay-signature": signature}))


def test_wrong_signature_is_rejected() -> None:
    flipped = VECTOR["signature"][:-1] + ("0" if VECTOR["signature"][-1] != "0" else "1")
    assert_rejected(vector_headers(**{"x-relay-signature": flipped}))


def test_changed_body_is_rejected() -> None:
    assert_rejected(vector_headers(), BODY + b" ")
    assert_rejected(vector_headers(), BODY.replace(b"400", b"401"))


def test_other_request_id_is_rejected() -> None:
    assert_rejected(vector_headers(**{"x-request-id": "another-request"}))
    assert_rejected(vector_headers(**{"x-request-id": "<drop>"}))


def test_other_timestamp_with_same_signature_is_rejected() -> None:
    assert_rejected(vector_headers(**{"x-relay-timestamp": str(TS + 1)}), now=TS)


def test_other_key_is_rejected() -> None:
    assert_rejected(vector_headers(), key=Secret("x" * 40))


def test_missing_request_id_signs_as_empty() -> None:
    timestamp = str(TS)
    signature = relay_signature(KEY, timestamp, "", BODY)
    headers = {"x-relay-timestamp": timestamp, "x-relay-signature": signature}
    verify_relay_signature(KEY, headers, BODY, now=TS, replays=ReplayCache())


def test_replay_is_rejected_and_only_genuine_signatures_are_recorded() -> None:
    replays = ReplayCache()
    forged = vector_headers(**{"x-relay-signature": "sha256=" + "0" * 64})
    with pytest.raises(RequestRejected):
        verify_relay_signature(KEY, forged, BODY, now=TS, replays=replays)
    assert len(replays) == 0

    verify_relay_signature(KEY, vector_headers(), BODY, now=TS, replays=replays)
    with pytest.raises(RequestRejected) as caught:
        verify_relay_signature(KEY, vector_headers(), BODY, now=TS + 10, replays=replays)
    assert (caught.value.status, caught.value.message) == (401, "unauthorized")


def test_replay_cache_remembers_while_the_timestamp_can_still_pass() -> None:
    # Recorded when the timestamp was a full window ahead of the clock: still acceptable by the clock for two
    # windows, so it must be remembered that long.
    replays = ReplayCache(window=300)
    assert replays.seen_before("sig", now=1000.0) is False
    assert replays.seen_before("sig", now=1000.0 + 599) is True
    assert replays.seen_before("sig", now=1000.0 + 600) is False  # expired and recorded anew


def test_replay_cache_evicts_expired_entries() -> None:
    replays = ReplayCache(window=10)
    for i in range(5):
        replays.seen_before(f"old-{i}", now=100.0)
    replays.seen_before("new", now=115.0)
    assert len(replays) == 6
    replays.seen_before("newer", now=120.0)
    assert len(replays) == 2


def test_replay_cache_is_bounded_and_fails_closed_when_full() -> None:
    replays = ReplayCache(window=10, max_entries=3)
    assert [replays.seen_before(s, now=0.0) for s in ("a", "b", "c")] == [False, False, False]
    assert replays.seen_before("d", now=1.0) is True  # full of live entries: counts as seen
    assert len(replays) == 3
    assert replays.seen_before("d", now=20.0) is False  # the others expired: room again
    assert len(replays) == 1


def test_replay_cache_records_each_signature_once_across_threads() -> None:
    replays = ReplayCache()
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        outcome = replays.seen_before("same", now=0.0)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] + [True] * 7


def test_replay_cache_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        ReplayCache(window=0)
    with pytest.raises(ValueError):
        ReplayCache(max_entries=0)
