"""``python -m nba_assets.web [--host H] [--port P] [--exports DIR | --base-url URL]`` (``make web``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nba_assets import config
from nba_assets.web.server import ExportSource, make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nba_assets.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--exports", type=Path, help="an exports/v1 directory (default: $NBA_LAKE_DIR/exports/v1)")
    where.add_argument("--base-url", help="a base URL serving exports/v1 (e.g. the bucket's public URL)")
    args = parser.parse_args(argv)
    if args.base_url:
        source = ExportSource(base_url=args.base_url)
    else:
        directory = args.exports or config.exports_dir()
        if not directory.is_dir():
            print(f"no exports at {directory}: run `make demo` (or `make run`) first", file=sys.stderr)
            return 2
        source = ExportSource(directory=directory)
    server = make_server(source, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving {source.describe()} on http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
