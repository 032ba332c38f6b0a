"""Routing throughput: 20,000 real messages from CSV to CSV, against plain jieba.lcut over the same texts.

    python benchmarks/throughput.py [--rows 20000] [--jobs 2] [--model models/default] [--profile]

Targets (2 cores): >= 10,000 messages/s end to end, and route / plain-jieba >= 5.
Messages are the bundled unlabelled and topic-labelled messages (title + text), repeated in order to reach
``--rows``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import tempfile
import time
from pathlib import Path

import pandas as pd

from classifier.artifact import default_model_path, load_model
from classifier.batch import route_file
from classifier.data import load_bundled


def messages(rows: int) -> pd.DataFrame:
    pool = pd.concat([load_bundled("unlabelled"), load_bundled("topic")], ignore_index=True)
    pool = pool.drop_duplicates("text")[["id", "title", "text"]]
    repeats = -(-rows // len(pool))
    frame = pd.concat([pool] * repeats, ignore_index=True).iloc[:rows]
    frame["id"] = [f"M{i:07d}" for i in range(len(frame))]
    return frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--profile", action="store_true", help="profile a single-process run instead")
    args = parser.parse_args()
    frame = messages(args.rows)
    chars = (frame["title"].str.len() + frame["text"].str.len()).mean()
    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.csv", Path(folder) / "out.csv"
        frame.to_csv(source, index=False)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            route_file(source, target, model, jobs=1)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        start = time.perf_counter()
        summary = route_file(source, target, model, jobs=args.jobs)
        route_seconds = time.perf_counter() - start
        assert summary.rows == len(frame)
    import jieba

    jieba.initialize()
    texts = (frame["title"] + " " + frame["text"]).tolist()
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    jieba_seconds = time.perf_counter() - start
    route_rate, jieba_rate = len(frame) / route_seconds, len(frame) / jieba_seconds
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"messages: {len(frame):,}, mean {chars:.0f} characters (title + text), jobs {args.jobs}")
    print(f"route CSV->CSV: {route_seconds:.2f} s = {route_rate:,.0f} messages/s (target >= 10,000)")
    print(f"plain jieba.lcut: {jieba_seconds:.2f} s = {jieba_rate:,.0f} messages/s")
    print(f"ratio route / plain jieba: {route_rate / jieba_rate:.1f} (target >= 5)")


if __name__ == "__main__":
    main()
