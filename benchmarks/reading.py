"""Reading speed: 100,000 bundled messages through ``open_table(...).chunks()``, as UTF-8, GB18030 and UTF-8 with
a line in GBK at the very end (read again line by line from the start), and how close ``estimate_rows`` comes.

    python benchmarks/reading.py [--rows 100000]

Prints the CPU seconds (best of 3) and rows/s of each file, and the estimate against the true row count.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

from classifier.data import load_bundled
from classifier.io import estimate_rows, open_table


def messages(rows: int) -> pd.DataFrame:
    pool = pd.concat([load_bundled("unlabelled"), load_bundled("topic")], ignore_index=True)
    pool = pool.drop_duplicates("text")[["id", "title", "text"]]
    frame = pd.concat([pool] * -(-rows // len(pool)), ignore_index=True).iloc[:rows]
    frame["id"] = [f"M{i:07d}" for i in range(len(frame))]
    return frame


def read_seconds(path: Path) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(3):
        start = time.process_time()
        rows = sum(len(chunk) for chunk in open_table(path).chunks(2000))
        best = min(best, time.process_time() - start)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    frame = messages(args.rows)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; {len(frame):,} messages")
    with tempfile.TemporaryDirectory() as folder:
        utf8, gbk, mixed = (Path(folder) / name for name in ("utf8.csv", "gb18030.csv", "gbk_line_at_end.csv"))
        frame.to_csv(utf8, index=False)
        frame.to_csv(gbk, index=False, encoding="gb18030")
        mixed.write_bytes(utf8.read_bytes() + "M9999999,标题,最后一行是GBK编码的留言\n".encode("gbk"))
        for path in (utf8, gbk, mixed):
            seconds, rows = read_seconds(path)
            size = path.stat().st_size / 1e6
            print(f"{path.name}: {rows:,} rows, {size:.0f} MB, {seconds:.2f} CPU s = {rows / seconds:,.0f} rows/s; "
                  f"estimate_rows {estimate_rows(path):,}")  # fmt: skip


if __name__ == "__main__":
    main()
