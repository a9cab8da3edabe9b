"""The AEM + Asset Compute stand-in, against Azurite, the local Adobe services and a fake worker over HTTPS."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fake_worker import SMALL_PARTS, FakeWorker

from local_platform.adobe_services import AdobeServices
from local_platform.asset_compute import AssetComputeClient, AssetComputeError
from local_platform.asset_compute_cli import main, read_env_file
from local_platform.asset_compute_storage import MIB, TargetOptions, block_id
from local_platform.azurite import Azurite
from local_platform.ims import LOCAL_ORG_ID
from local_platform.processes import free_port
from profiles import Profile, RenditionSpec, load_profile

pytestmark = pytest.mark.azurite


def test_job_request_has_the_asset_compute_shape(client: AssetComputeClient, fake_worker: FakeWorker, photo: Path):
    result = client.process(photo, [{"name": "copy.jpg", "fmt": "jpg", "imgix": '{"w":100}'}], out_dir=photo.parent)
    [request] = fake_worker.requests
    headers, body = request["headers"], request["body"]
    assert headers["authorization"].startswith("Bearer ey")
    assert headers["x-gw-ims-org-id"] == LOCAL_ORG_ID
    assert headers["x-request-id"] == result.request_id
    assert headers["x-gw-ims-org-name"] and headers["x-app-name"]
    assert set(body) == {"source", "renditions", "userData"}
    source = urlsplit(body["source"])
    assert source.scheme == "https" and source.hostname == "localhost"
    assert parse_qs(source.query)["sp"] == ["r"]  # a read-only pre-signed GET URL
    [rendition] = body["renditions"]
    assert {k: v for k, v in rendition.items() if k != "target"} == {
        "name": "copy.jpg",
        "fmt": "jpg",
        "imgix": '{"w":100}',
        "worker": fake_worker.url,
    }
    target = rendition["target"]
    assert (target["minPartSize"], target["maxPartSize"]) == (1024, 4096)
    assert len(target["urls"]) == 16  # ceil(16 KiB estimate / 1 KiB minimum part)
    for index, url in enumerate(target["urls"]):
        query = parse_qs(urlsplit(url).query)
        assert query["comp"] == ["block"] and query["blockid"] == [block_id(index)]
        assert set(query["sp"][0]) == {"c", "w"}
    assert "blockid=MDAwMDAw" in unquote(target["urls"][0])  # base64("000000")
    assert result.activation_id


def test_multipart_rendition_is_committed_in_order_and_downloaded(
    client: AssetComputeClient, photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = client.process(photo, [{"name": "copy.jpg", "fmt": "jpg"}], out_dir=out)
    [rendition] = result.renditions
    assert rendition.event_type == "rendition_created" and not rendition.failed
    assert rendition.target_kind == "multipart"
    assert rendition.output == out / "copy.jpg"
    # 10 000 bytes over 16 URLs with 1 KiB minimum parts: 10 blocks, wrong order would scramble the bytes.
    assert rendition.output.read_bytes() == photo.read_bytes()
    assert rendition.metadata["repo:size"] == 10_000
    assert rendition.seconds > 0


def test_single_put_target(client: AssetComputeClient, fake_worker: FakeWorker, photo: Path, tmp_path: Path) -> None:
    result = client.process(photo, [{"name": "copy.jpg"}], out_dir=tmp_path, targets=TargetOptions(kind="single"))
    target = fake_worker.requests[0]["body"]["renditions"][0]["target"]
    assert isinstance(target, str) and "comp=block" not in target
    assert result.renditions[0].target_kind == "single"
    assert (tmp_path / "copy.jpg").read_bytes() == photo.read_bytes()


def test_aem_default_target_sizes() -> None:
    assert TargetOptions().min_part_size == 10 * MIB and TargetOptions().max_part_size == 100 * MIB
    assert TargetOptions().url_count() == 10
    assert TargetOptions(estimated_size=1).url_count() == 1
    assert TargetOptions(estimated_size=10_000 * MIB).url_count() == 50


def test_failures_are_recorded_and_redacted(client: AssetComputeClient, photo: Path, tmp_path: Path) -> None:
    result = client.process(
        photo,
        [{"name": "ok.jpg"}, {"name": "bad.png", "fake": "fail"}, {"name": "leak.png", "fake": "fail-leaky"}],
        out_dir=tmp_path,
    )
    ok, bad, leak = result.renditions
    assert not ok.failed and ok.output is not None
    assert (bad.event_type, bad.error_reason, bad.error_message) == (
        "rendition_failed",
        "SourceCorrupt",
        "bad the source",
    )
    assert bad.problem is None and bad.output is None
    assert leak.error_reason == "SourceCorrupt"
    assert "sig=**********" in (leak.error_message or "")
    assert leak.problem and "credential" in leak.problem  # the worker broke the no-secret rule
    assert result.failed


def test_credential_check_compares_with_what_was_issued(client: AssetComputeClient, photo: Path, tmp_path: Path):
    """The caller's own `s=deadbeef` echoed in the event is no leak; the SAS this stand-in signed still is one."""
    own = {"imgix": "w=100&s=deadbeef", "sig": "sig=notours&token=mine"}
    echoed, leaky = client.process(
        photo,
        [{"name": "echo.png", "fake": "fail", **own}, {"name": "leak.png", "fake": "fail-leaky", **own}],
        out_dir=tmp_path,
    ).renditions
    assert echoed.event is not None and echoed.event["rendition"]["imgix"] == "w=100&s=deadbeef"
    assert echoed.problem is None
    assert leaky.problem and "credential" in leaky.problem


def test_created_without_upload_is_a_problem(client: AssetComputeClient, photo: Path, tmp_path: Path) -> None:
    [rendition] = client.process(photo, [{"name": "x.jpg", "fake": "no-upload"}], out_dir=tmp_path).renditions
    assert rendition.event_type == "rendition_created"
    assert rendition.problem and "no block" in rendition.problem
    assert rendition.failed


def test_missing_event_times_out(
    azurite: Azurite, ims, adobe_services: AdobeServices, fake_worker: FakeWorker, photo: Path, tmp_path: Path
) -> None:
    with AssetComputeClient(
        connection_string=azurite.connection_string,
        ca_file=azurite.tls.ca_cert,
        worker_url=fake_worker.url,
        journal_url=adobe_services.journal_url,
        ims=ims,
        event_timeout=0.5,
    ) as quick:
        [rendition] = quick.process(photo, [{"name": "x.jpg", "fake": "silent"}], out_dir=tmp_path).renditions
    assert rendition.event_type == "timeout" and rendition.failed


def test_refused_job_raises(client: AssetComputeClient, fake_worker: FakeWorker, photo: Path, tmp_path: Path) -> None:
    fake_worker.refuse_with = 401
    with pytest.raises(AssetComputeError, match="401: refused by the test") as raised:
        client.process(photo, [{"name": "x.jpg"}], out_dir=tmp_path)
    assert raised.value.status == 401


def test_profile_mime_rules_decide_what_is_sent(
    client: AssetComputeClient, fake_worker: FakeWorker, photo: Path, tmp_path: Path
) -> None:
    profile = Profile(
        name="mixed",
        slug="mixed",
        renditions=(
            RenditionSpec(name="png-only", extension="png", include=("image/png",)),
            RenditionSpec(name="not-jpeg", extension="png", exclude=("image/jpeg",)),
            RenditionSpec(name="any-image", extension="jpg", parameters={"imgix": "{}"}),
        ),
    )
    seen = []
    result = client.process_profile(photo, profile, out_dir=tmp_path, on_result=seen.append)
    assert [(r.name, r.event_type) for r in result.renditions] == [
        ("png-only.png", "skipped"),
        ("not-jpeg.png", "skipped"),
        ("any-image.jpg", "rendition_created"),
    ]
    assert [r["name"] for r in fake_worker.requests[0]["body"]["renditions"]] == ["any-image.jpg"]
    assert fake_worker.requests[0]["body"]["renditions"][0]["imgix"] == "{}"
    assert len(seen) == 3 and not result.failed


def test_profile_with_nothing_to_send_calls_no_worker(
    client: AssetComputeClient, fake_worker: FakeWorker, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    result = client.process_profile(text, load_profile(Path("profiles/wknd.yaml")), out_dir=tmp_path)
    assert [r.event_type for r in result.renditions] == ["skipped"]
    assert fake_worker.requests == [] and result.request_id is None


def write_env(path: Path, azurite: Azurite, adobe_services: AdobeServices, fake_worker: FakeWorker) -> Path:
    path.write_text(
        f"WORKER_URL={fake_worker.url}\n"
        f"EVENTS_URL={adobe_services.events_url}\n"
        f"JOURNAL_URL={adobe_services.journal_url}\n"
        f"JWKS_URL={adobe_services.jwks_url}\n"
        f"ORG_ID='{LOCAL_ORG_ID}'\n"
        f"AZURE_STORAGE_CONNECTION_STRING='{azurite.connection_string}'\n"
        f"TLS_CA_BUNDLE={azurite.tls.ca_cert}\n"
    )
    return path


def test_env_file_is_read_shell_style(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("# comment\nA=1\nexport B='two words'\nC=\"x;y=z\"\n\n")
    assert read_env_file(env) == {"A": "1", "B": "two words", "C": "x;y=z"}


def test_cli_processes_a_folder_and_prints_no_secret(
    azurite: Azurite, adobe_services: AdobeServices, fake_worker: FakeWorker, photo: Path, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "photo.jpg").write_bytes(photo.read_bytes())
    (assets / "second.jpg").write_bytes(photo.read_bytes())
    (assets / ".hidden.jpg").write_bytes(b"ignored like AEM ignores dot files")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        json.dumps(
            {
                "name": "cli",
                "renditions": [
                    {"name": "good", "extension": "jpg"},
                    {"name": "broken", "extension": "png", "parameters": {"fake": "fail-leaky"}},
                    {"name": "png-only", "extension": "png", "mimeTypes": {"include": ["image/png"]}},
                ],
            }
        )
    )
    env = write_env(tmp_path / "env", azurite, adobe_services, fake_worker)
    stdout, stderr = io.StringIO(), io.StringIO()
    out = tmp_path / "renditions"
    code = main(
        ["process", str(assets), "--profile", str(profile), "--out", str(out), "--env-file", str(env)],
        stdout=stdout,
        stderr=stderr,
    )
    printed = stdout.getvalue() + stderr.getvalue()
    assert code == 1, printed  # `broken` failed
    assert (out / "photo.jpg" / "good.jpg").read_bytes() == photo.read_bytes()
    assert (out / "second.jpg" / "good.jpg").exists()
    table = stdout.getvalue().splitlines()
    assert table[0].split()[:3] == ["FILE", "RENDITION", "RESULT"]
    assert sum("created" in row for row in table) == 2
    assert sum("skipped" in row for row in table) == 2
    assert sum("FAILED" in row and "SourceCorrupt" in row for row in table) == 2
    assert "6/6" in stderr.getvalue()  # progress reached the end
    for request in fake_worker.requests:
        token = request["headers"]["authorization"].removeprefix("Bearer ")
        signature = parse_qs(urlsplit(request["body"]["source"]).query)["sig"][0]
        assert token not in printed and signature not in printed and unquote(signature) not in printed
    assert "AccountKey" not in printed and "sig=" not in printed.replace("sig=**********", "")


def test_cli_without_platform_env_exits_2(tmp_path: Path, photo: Path) -> None:
    stderr = io.StringIO()
    code = main(["process", str(photo), "--env-file", str(tmp_path / "missing")], stderr=stderr)
    assert code == 2 and "make up" in stderr.getvalue()


def test_small_parts_fixture_makes_several_blocks() -> None:
    assert SMALL_PARTS.url_count() == 16


def test_cli_with_worker_down_exits_2_without_secrets(
    azurite: Azurite, adobe_services: AdobeServices, fake_worker: FakeWorker, photo: Path, tmp_path: Path
) -> None:
    env = write_env(tmp_path / "env", azurite, adobe_services, fake_worker)
    env.write_text(env.read_text().replace(fake_worker.url, f"https://localhost:{free_port()}/api/worker"))
    profile = tmp_path / "p.yaml"
    profile.write_text(json.dumps({"name": "p", "renditions": [{"name": "a", "extension": "jpg"}]}))
    stdout, stderr = io.StringIO(), io.StringIO()
    args = ["process", str(photo), "--profile", str(profile), "--out", str(tmp_path), "--env-file", str(env)]
    assert main(args, stdout=stdout, stderr=stderr) == 2
    assert "worker unreachable" in stderr.getvalue()
    assert "sig=" not in stderr.getvalue() and "AccountKey" not in stderr.getvalue()
