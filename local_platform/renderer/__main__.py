"""`python -m local_platform.renderer`: run the local imgix-compatible renderer over HTTPS on 127.0.0.1.

Secrets never go on the command line (they would show in `ps`): the SAS comes from `--sas-file` or the environment
variable IMGIX_RENDERER_SAS, the secure token from `--secure-token-file` or IMGIX_RENDERER_SECURE_TOKEN. Without a
secure token, signatures are not enforced.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from PIL import Image

from local_platform.renderer.process import SAS_ENV, TOKEN_ENV
from local_platform.renderer.render import MAX_PIXELS
from local_platform.renderer.server import RendererConfig, serve
from local_platform.renderer.source import MAX_SOURCE_BYTES, BlobSource
from local_platform.tls import TlsFiles, server_context


def _secret(path: Path | None, env: str) -> str | None:
    if path is not None:
        return path.read_text().strip()
    return os.environ.get(env) or None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_platform.renderer", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--container-url", required=True, help="e.g. https://localhost:10000/devstoreaccount1/imgix")
    parser.add_argument("--sas-file", type=Path, help=f"file holding the read+list SAS (else ${SAS_ENV})")
    parser.add_argument("--prefix", default="", help="path prefix prepended to every blob name")
    parser.add_argument(
        "--secure-token-file", type=Path, help=f"file holding the imgix secure token (else ${TOKEN_ENV})"
    )
    parser.add_argument("--ca-file", type=Path, help="CA bundle to trust for the container URL")
    parser.add_argument("--cert", type=Path, required=True, help="server certificate (PEM) for localhost")
    parser.add_argument("--key", type=Path, required=True, help="server private key (PEM)")
    parser.add_argument("--max-source-bytes", type=int, default=MAX_SOURCE_BYTES, help="413 above this (500 MB)")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="422 above this many source pixels")
    args = parser.parse_args(argv)

    sas = _secret(args.sas_file, SAS_ENV)
    if sas is None:
        parser.error(f"a SAS is required: --sas-file or ${SAS_ENV}")
    Image.MAX_IMAGE_PIXELS = args.max_pixels  # this process only renders: Pillow's own bomb check uses our limit
    source = BlobSource(
        container_url=args.container_url,
        sas=sas,
        prefix=args.prefix,
        ca_file=args.ca_file,
        max_bytes=args.max_source_bytes,
    )
    config = RendererConfig(source, _secret(args.secure_token_file, TOKEN_ENV), args.max_pixels)
    tls = server_context(TlsFiles(ca_cert=args.ca_file or args.cert, cert=args.cert, key=args.key))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave serve_forever through its `finally`
    try:
        serve(config, tls, port=args.port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
