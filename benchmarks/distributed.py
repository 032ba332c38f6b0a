"""Routing a Parquet dataset on a Dask LocalCluster against route --jobs on the same cores.

    python benchmarks/distributed.py [--rows 2000000] [--partitions 16] [--workers 2] [--model models/default]

The dataset is the bundled unlabelled and topic-labelled messages repeated (unique ids) to ``--rows`` rows, written
as ``--partitions`` Parquet files. Both runs write a Parquet dataset. Prints rows/s of each, the per-core rate,
peak memory (max RSS) per worker process, the cluster's start-up time, and its scheduling overhead: the cluster's
routing time (start-up excluded) over the ``--jobs`` time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the distributed package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
import pandas as pd

from classifier.artifact import default_model_path
from classifier.batch import route_file
from classifier.data import load_bundled


def messages(rows: int) -> pd.DataFrame:
    pool = pd.concat([load_bundled("unlabelled"), load_bundled("topic")], ignore_index=True)
    pool = pool.drop_duplicates("text")[["title", "text"]]
    frame = pool.iloc[np.arange(rows) % len(pool)].reset_index(drop=True)
    frame.insert(0, "id", [f"M{i:09d}" for i in range(rows)])
    return frame


def write_dataset(frame: pd.DataFrame, folder: Path, partitions: int) -> None:
    folder.mkdir()
    for number, part in enumerate(np.array_split(np.arange(len(frame)), partitions)):
        frame.iloc[part].to_parquet(folder / f"part-{number:05d}.parquet", index=False)


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default=str(default_model_path()))
    args = parser.parse_args()
    import dask
    from distributed import Client, LocalCluster, get_task_stream

    from classifier.distributed import LOCAL_WORKER_CONFIG, ModelPlugin, route_dataset

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in"
        write_dataset(messages(args.rows), source, args.partitions)

        start = time.perf_counter()
        summary = route_file(source, Path(folder) / "jobs", args.model, jobs=args.workers, chunk_size=20_000)
        jobs_seconds = time.perf_counter() - start
        jobs_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        assert summary.rows == args.rows

        start = time.perf_counter()
        with dask.config.set(LOCAL_WORKER_CONFIG):  # as route --dask local starts its cluster
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)  # fmt: skip
        client = Client(cluster)
        client.register_plugin(ModelPlugin(str(Path(args.model).resolve())))
        startup = time.perf_counter() - start
        try:
            start = time.perf_counter()
            with get_task_stream(client) as stream:
                dask = route_dataset(source, Path(folder) / "dask", args.model, client=client)
            dask_seconds = time.perf_counter() - start
            peaks = client.run(peak_rss_mib)
        finally:
            client.close()
            cluster.close()
        assert dask.rows == args.rows and len(pd.read_parquet(Path(folder) / "dask", columns=["id"])) == args.rows

    jobs_rate, dask_rate = args.rows / jobs_seconds, args.rows / dask_seconds
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"dataset: {args.rows:,} rows in {args.partitions} Parquet files; {args.workers} workers")
    print(f"route --jobs {args.workers}: {jobs_seconds:.1f} s, {jobs_rate:,.0f} rows/s, "
          f"peak memory of a worker process {jobs_peak:,.0f} MiB")  # fmt: skip
    print(f"LocalCluster: start-up {startup:.1f} s; routing {dask_seconds:.1f} s, {dask_rate:,.0f} rows/s "
          f"({dask_rate / args.workers:,.0f} rows/s per core)")  # fmt: skip
    for worker, peak in sorted(peaks.items()):
        print(f"  {worker}: {dask.workers.get(worker, 0):,} rows, peak memory {peak:,.0f} MiB")
    busy = sum(s["stop"] - s["start"] for task in stream.data for s in task["startstops"] if s["action"] == "compute")
    print(f"task time: {busy:.1f} s over {len(stream.data)} tasks; workers busy {busy / (args.workers * dask_seconds):.0%} "
          f"of the routing time")  # fmt: skip
    print(f"scheduler overhead: cluster routing time / --jobs time = {dask_seconds / jobs_seconds:.2f} "
          f"(plus {startup:.1f} s start-up)")  # fmt: skip


if __name__ == "__main__":
    main()
