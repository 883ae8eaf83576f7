"""``python -m nba_assets.replay build|serve|schedule``.

    python -m nba_assets.replay build --box-scores A.parquet [--box-scores B.parquet ...] \\
        --lines L.parquet [--lines M.parquet ...] [--schedule data/schedule.csv | --schedule-from-box-scores] \\
        --out DIR
    python -m nba_assets.replay serve --dir DIR [--port 0] [--host 127.0.0.1]
    python -m nba_assets.replay schedule [--box-scores data/player_box_scores.parquet ...] \\
        [--lines data/player_points_lines_dfs.parquet ...] [--out data/schedule.csv] [--check]

``build`` takes the archive's games from the schedule file (default ``data/schedule.csv``, every game
of the seasons in ``data/``), whatever box scores it is given: games without box scores are served
as not yet played. ``schedule`` derives that file from the real data files (``--check``: only
compare with the file on disk, exit 1 when it differs).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from nba_assets.replay.schedule import DEFAULT_BOX_SCORES, DEFAULT_LINES, DEFAULT_SCHEDULE


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it (the manifest records it as given)."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


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
    source = build.add_mutually_exclusive_group()
    source.add_argument(
        "--schedule",
        default=None,
        metavar="FILE",
        help=f"schedule file, .csv or .parquet (default: {_shown(DEFAULT_SCHEDULE)}); games without box "
        "scores are served as not yet played",
    )
    source.add_argument(
        "--schedule-from-box-scores",
        action="store_true",
        help="no schedule file: the archive's games are those of the box scores given (all final)",
    )
    build.add_argument("--out", required=True, metavar="DIR", help="archive directory (replaced atomically)")

    schedule = sub.add_parser("schedule", help="derive the schedule file from box-score and lines files")
    schedule.add_argument(
        "--box-scores", action="append", metavar="PARQUET", help=f"default: {_shown(DEFAULT_BOX_SCORES)}"
    )
    schedule.add_argument("--lines", action="append", metavar="PARQUET", help=f"default: {_shown(DEFAULT_LINES)}")
    schedule.add_argument("--out", default=None, metavar="CSV", help=f"default: {_shown(DEFAULT_SCHEDULE)}")
    schedule.add_argument(
        "--check", action="store_true", help="do not write: exit 1 when the file differs from a fresh derivation"
    )

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
        schedule = None if args.schedule_from_box_scores else (args.schedule or _shown(DEFAULT_SCHEDULE))
        try:
            out = build_archive(args.box_scores, args.lines, args.out, schedule=schedule)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"built {out} in {time.perf_counter() - started:.1f} s (schedule: {schedule or 'from the box scores'})")
        return 0
    if args.command == "schedule":
        return _schedule(args)

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


def _schedule(args: argparse.Namespace) -> int:
    import tempfile

    from nba_assets.replay.build import derive_schedule
    from nba_assets.replay.schedule import write_schedule

    out = Path(args.out or DEFAULT_SCHEDULE)
    try:
        frame = derive_schedule(args.box_scores or [DEFAULT_BOX_SCORES], args.lines or [DEFAULT_LINES])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = write_schedule(frame, Path(tmp) / out.name).read_bytes()
        if not out.is_file() or out.read_bytes() != fresh:
            print(f"{out}: differs from the schedule derived from the data files", file=sys.stderr)
            return 1
        print(f"{_shown(out)}: up to date ({frame.height} games)")
        return 0
    write_schedule(frame, out)
    n_tip = frame["tipoff_utc"].is_not_null().sum()
    print(f"wrote {_shown(out)}: {frame.height} games, {n_tip} with a tip-off time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
