"""``python -m nba_assets.replay build|serve``.

    python -m nba_assets.replay build --box-scores A.parquet [--box-scores B.parquet ...] \\
        --lines L.parquet [--lines M.parquet ...] --out DIR
    python -m nba_assets.replay serve --dir DIR [--port 0] [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nba_assets.replay", description="Build or serve a replay archive of recorded API responses."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build a replay archive from box-score and lines parquet files")
    build.add_argument(
        "--box-scores",
        action="append",
        required=True,
        metavar="PARQUET",
        help="player box-score file (repeatable; files are concatenated)",
    )
    build.add_argument(
        "--lines",
        action="append",
        required=True,
        metavar="PARQUET",
        help="player-points lines file (repeatable; files are concatenated)",
    )
    build.add_argument("--out", required=True, metavar="DIR", help="archive directory (replaced atomically)")

    serve = sub.add_parser("serve", help="serve an archive over HTTP until Ctrl-C")
    serve.add_argument("--dir", required=True, metavar="DIR", help="archive directory")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        from nba_assets.replay.build import build_archive

        started = time.perf_counter()
        try:
            out = build_archive(args.box_scores, args.lines, args.out)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"built {out} in {time.perf_counter() - started:.1f} s")
        return 0

    from nba_assets.replay.server import ReplayServer

    server = ReplayServer(args.dir, host=args.host, port=args.port)
    try:
        url = server.start()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(url, flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    # installed explicitly: a shell's background job starts with SIGINT ignored
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
