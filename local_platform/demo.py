"""`make demo`: every rendition of every profile in `profiles/`, end to end on the local platform.

Asset Compute stand-in -> App Builder relay (local host) -> worker intake -> queue -> processor -> imgix source
container (Azurite) -> local imgix-compatible renderer -> AEM targets (Azurite blocks, committed on
`rendition_created`) -> renditions under `out/`, with `out/report.json`, `out/index.html` (a contact sheet) and a
table on stdout. A metadata rendition (XMP) shows as its key values and colour swatches (`demo_metadata.py`).
Exit status 1 if a rendition that should succeed failed; everything started is stopped, also on Ctrl-C and on
failure.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from imgix_worker.errors import RenditionError
from imgix_worker.instructions import imgix_params
from imgix_worker.metadata_rendition import is_metadata_rendition
from local_platform.asset_compute import RenditionResult
from local_platform.demo_metadata import is_xmp, metadata_notes, metadata_panel, one_line, xmp_summary
from local_platform.paths import ROOT, SAMPLES_DIR
from local_platform.platform import LocalPlatform
from local_platform.renderer.fallbacks import fallbacks
from profiles import PROFILES_DIR, Profile, RenditionSpec, load_profiles

__all__ = ["main"]

SAMPLE = SAMPLES_DIR / "portrait-landscape.jpg"


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    profile: str
    spec: RenditionSpec
    result: RenditionResult
    notes: list[str]

    def as_json(self, out_dir: Path) -> dict[str, object]:
        output = self.result.output
        return {
            "profile": self.profile,
            "rendition": self.result.name,
            "file": str(output.relative_to(out_dir.parent)) if output else None,
            "event": self.result.event_type,
            "errorReason": self.result.error_reason,
            "errorMessage": self.result.error_message,
            "metadata": self.result.metadata,
            "seconds": round(self.result.seconds, 3),
            "serviceParameters": self.spec.service_parameters(),
            "localRendererNotes": self.notes,
            **({"xmp": xmp_summary(output)} if is_xmp(output) else {}),
        }


def _notes(spec: RenditionSpec) -> list[str]:
    """What the local renderer does differently from imgix for this rendition's parameters."""
    if is_metadata_rendition(spec.instructions()):
        return metadata_notes(spec)
    try:
        return fallbacks(imgix_params(spec.instructions()))
    except RenditionError:
        return []


def _size(meta: dict[str, object]) -> str:
    """`WxH` from the event, empty for renditions that are not images (XMP, JSON)."""
    return f"{meta['tiff:imageWidth']}x{meta['tiff:imageHeight']}" if "tiff:imageWidth" in meta else ""


def _contact_sheet(rows: list[Row], source: Path, out_dir: Path, chain: str) -> str:
    cards = [
        f'<figure class="card source"><img src="{html.escape(source.name)}" alt="source">'
        f"<figcaption><b>Source</b><br>{html.escape(source.name)}</figcaption></figure>"
    ]
    for row in rows:
        r = row.result
        meta = r.metadata or {}
        size = _size(meta)
        image = (
            f'<img src="{html.escape(str(r.output.relative_to(out_dir)))}" alt="{html.escape(r.name)}">'
            if r.output and r.event_type == "rendition_created"
            else f'<div class="missing">{html.escape(r.error_reason or r.event_type)}</div>'
        )
        if r.event_type == "rendition_created" and is_xmp(r.output):
            image = metadata_panel(xmp_summary(r.output))  # type: ignore[arg-type]
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in row.notes)
        cards.append(
            f'<figure class="card {html.escape(r.event_type)}">{image}<figcaption><b>{html.escape(r.name)}</b>'
            f"<br>{html.escape(row.profile)}<br>{html.escape(r.event_type)} {html.escape(size)} "
            f"{html.escape(str(meta.get('dc:format', '')))} {r.seconds:.2f}s"
            f"{'<ul>' + notes + '</ul>' if notes else ''}</figcaption></figure>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aem-imgix-renditions: local demo</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #f4f4f4; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }}
.card {{ margin: 0; padding: .75rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0002; }}
.card img {{ display: block; max-width: 320px; max-height: 320px;
  background: repeating-conic-gradient(#ddd 0 25%, #fff 0 50%) 50% / 16px 16px; }}
.card.rendition_failed {{ outline: 2px solid #c00; }}
.missing {{ width: 200px; height: 120px; display: grid; place-items: center; color: #c00; }}
figcaption {{ font-size: .85rem; margin-top: .5rem; max-width: 320px; }}
ul {{ padding-left: 1rem; color: #a60; }}
.xmp {{ width: 320px; font-size: .85rem; }} .xmp th {{ text-align: left; padding-right: .5rem; }}
.swatch {{ display: inline-flex; align-items: center; gap: .25rem; margin: .15rem .4rem .15rem 0; }}
.chip {{ width: 1rem; height: 1rem; border: 1px solid #0003; border-radius: 3px; display: inline-block; }}
</style></head><body>
<h1>Local demo: source and renditions</h1>
<p>Path: {html.escape(chain)}</p>
<div class="grid">{"".join(cards)}</div>
</body></html>
"""


def _table(rows: list[Row]) -> str:
    lines = [f"{'profile':<24} {'rendition':<28} {'event':<18} {'size':<11} {'format':<11} {'s':>6}"]
    for row in rows:
        r, meta = row.result, row.result.metadata or {}
        size = _size(meta)
        event = r.event_type if not r.error_reason else f"failed:{r.error_reason}"
        lines.append(
            f"{row.profile[:24]:<24} {r.name[:28]:<28} {event[:18]:<18} {size:<11} "
            f"{str(meta.get('dc:format', ''))[:11]:<11} {r.seconds:>6.2f}"
        )
        if r.event_type == "rendition_created" and is_xmp(r.output):
            lines.append(f"{'':<24} {one_line(xmp_summary(r.output))}")  # type: ignore[arg-type]
        lines.extend(f"{'':<24} note: {note}" for note in row.notes)
    return "\n".join(lines)


def run(out_dir: Path, profiles: list[Profile], source: Path) -> int:
    """Run the demo; return the exit status."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    shutil.copy(source, out_dir / source.name)
    started = time.monotonic()
    with LocalPlatform.start(on_step=lambda part: print(f"starting {part} ...", flush=True)) as platform:
        chain = "Asset Compute stand-in -> App Builder relay -> worker intake -> queue -> processor -> renderer"
        print(f"platform up in {time.monotonic() - started:.1f}s; {chain}", flush=True)
        rows: list[Row] = []
        with platform.asset_compute() as client:
            for profile in profiles:
                job = client.process_profile(source, profile, out_dir=out_dir)
                rows.extend(
                    Row(profile.name, spec, result, _notes(spec))
                    for spec, result in zip(profile.renditions, job.renditions, strict=True)
                )
    report = {
        "source": source.name,
        "chain": chain,
        "renditions": [row.as_json(out_dir) for row in rows],
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "index.html").write_text(_contact_sheet(rows, out_dir / source.name, out_dir, chain))
    print(_table(rows))
    failed = [row for row in rows if row.result.event_type != "rendition_created"]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} renditions created in {time.monotonic() - started:.1f}s; "
          f"see {out_dir / 'index.html'} and {out_dir / 'report.json'}")  # fmt: skip
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render every profile's renditions of a sample on the local platform.")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--profiles", type=Path, default=PROFILES_DIR)
    parser.add_argument("--source", type=Path, default=SAMPLE)
    args = parser.parse_args(argv)
    try:
        return run(args.out.resolve(), load_profiles(args.profiles), args.source.resolve())
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
