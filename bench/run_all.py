"""Run every benchmark, seeding first where needed (``make bench``).

    .venv/bin/python bench/run_all.py            # all of them (about 20 minutes)
    .venv/bin/python bench/run_all.py --reseed   # seed both databases again first

Figures, not pass/fail. Each benchmark also runs on its own; see its docstring.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from common import ROOT, check_schema, url_for

BENCH = ROOT / "bench"


def run(*args: str) -> None:
    print(f"\n$ python bench/{' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:]], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reseed", action="store_true", help="seed both databases again")
    args = parser.parse_args()
    for engine in ("sqlite", "postgresql"):
        try:
            if args.reseed:
                raise SystemExit
            check_schema(url_for(engine))
        except SystemExit:
            run("seed.py", engine)
    run("cost.py", "sqlite")
    run("cost.py", "postgresql")
    run("load.py")
    run("sweep.py")
    run("explain.py")
    run("feed.py")
    run("weekly.py")


if __name__ == "__main__":
    main()
