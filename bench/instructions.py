"""CPU per request counted in instructions: the one figure a shared, noisy machine cannot move.

    .venv/bin/python bench/instructions.py sqlite            # after bench/seed.py; needs valgrind
    .venv/bin/python bench/instructions.py postgresql --cases bare dashboard --requests 200

For each case of bench/load.py, runs the app in-process (as bench/cost.py does) under
valgrind's cachegrind twice: after a warm-up, once with no request and once with N; the
difference over N is the instructions one request costs, start-up and warm-up excluded.
Instructions are not time (cache misses and branch mispredictions are not counted), but two
runs of the same code give the same count to about 1%, where CPU time on this VM moved by 2x:
use it to tell whether a change made a page cheaper. Each case takes about a minute; two run
at a time, and the tick, which writes, runs alone after the others.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import url_for
from load import CASES, EXPECTED

HERE = Path(__file__).resolve()


def child(engine: str, case: str, requests: int) -> None:
    """Warm up, then answer ``requests`` requests of ``case`` (run under valgrind)."""
    from cost import call, make_app
    from load import prepare

    url = url_for(engine)
    learners = prepare(url, 4)
    app = make_app(url)
    for lr in learners:  # each learner's feed, so "feed 304" has an ETag to send
        lr.etag = call(app, "feed 200", lr)[1].get("ETag", "")
    for i in range(40):
        status, _ = call(app, case, learners[i % 4])
        assert status == EXPECTED[case], (case, status)
    for i in range(requests):
        call(app, case, learners[i % 4])


def count(engine: str, case: str, requests: int) -> int:
    """Return the instructions a process answering ``requests`` requests of ``case`` ran."""
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, str(HERE), engine, "--child", case, "--requests", str(requests)],
        capture_output=True, text=True, check=True,
        # A random string hash seed moves dicts' layouts, and the count with them, by ~2%.
        env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stderr
    match = re.search(r"I\s+refs:\s+([\d,]+)", out)
    assert match, out[-2000:]
    return int(match.group(1).replace(",", ""))


def per_request(engine: str, case: str, requests: int) -> float:
    """Return the instructions one request of ``case`` costs."""
    # A first run outside valgrind brings what the learners' earlier ticks left stale
    # (their feeds' cached bodies) up to date, so both counted runs find the same state.
    subprocess.run([sys.executable, str(HERE), engine, "--child", case, "--requests", "0"],
                   check=True)
    return (count(engine, case, requests) - count(engine, case, 0)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("engine", help="sqlite, postgresql or a database URL")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=CASES)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.engine, args.child, args.requests)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    cases = ["bare", *(c for c in args.cases if c != "bare")]
    # The tick writes: it runs alone, after the others, so no counted run sees its changes.
    reads = [c for c in cases if c != "tick"]
    with ThreadPoolExecutor(2) as pool:
        counts = dict(zip(reads, pool.map(lambda c: per_request(args.engine, c, args.requests),
                                          reads), strict=True))
    if "tick" in cases:
        counts["tick"] = per_request(args.engine, "tick", args.requests)
    print(f"{args.engine}: instructions per request, in-process, {args.requests} requests")
    print(f"{'case':<12}{'M instr':>9}{'x bare':>8}")
    for case, n in counts.items():
        print(f"{case:<12}{n / 1e6:>9.2f}{n / counts['bare']:>8.1f}")


if __name__ == "__main__":
    main()
