"""Run every benchmark in bench/ (``python -m bench``), one process each, and print their figures.

Benchmarks are not tests: each script prints its own figures and the ratio to a floor measured in the
same run; docs/benchmarks.md records them. ``python -m bench sync`` runs only bench_sync.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    scripts = sorted(here.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    failed = 0
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        failed += subprocess.call([sys.executable, str(script)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
