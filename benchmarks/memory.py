"""Peak memory of routing a large CSV: memory must not grow with the input.

    python benchmarks/memory.py [--rows 1000000] [--jobs 2]

Writes a CSV of ``--rows`` real messages (bundled messages repeated), routes it CSV -> CSV and prints the peak
resident memory of the routing process and of its largest worker (target: under 1 GB).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import messages  # noqa: E402

from classifier.artifact import default_model_path, load_model  # noqa: E402
from classifier.batch import route_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.csv", Path(folder) / "out.csv"
        block = messages(20_000)
        with open(source, "w", encoding="utf-8", newline="") as handle:
            for start in range(0, args.rows, len(block)):
                part = block.iloc[: min(len(block), args.rows - start)].copy()
                part["id"] = [f"M{start + i:08d}" for i in range(len(part))]
                part.to_csv(handle, index=False, header=start == 0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        summary = route_file(source, target, load_model(default_model_path()), jobs=args.jobs)
        seconds = time.perf_counter() - start
        size = source.stat().st_size
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"rows routed: {summary.rows:,} from a {size / 2**20:,.0f} MiB CSV in {seconds:,.0f} s "
          f"({summary.rows / seconds:,.0f} rows/s, jobs {args.jobs})")
    print(f"peak RSS: routing process {own:,.0f} MiB (before routing {before / 1024:,.0f} MiB), "
          f"largest worker {workers:,.0f} MiB (target < 1024 MiB each)")


if __name__ == "__main__":
    main()
