"""HTTP service load test on 127.0.0.1: latency of single-message /route and throughput of 500-message batches.

    python benchmarks/serve.py [--model models/default] [--workers 1] [--requests 400] [--seconds 20]
                               [--batches 12] [--compare-unbatched]

Starts ``serve`` in a subprocess on a free loopback port, then sends requests with httpx + asyncio from this
process: for 1, 8 and 32 concurrent clients, single-message ``POST /route`` until ``--requests`` are answered or
``--seconds`` have passed (p50/p99 latency, requests/s); then ``--batches`` requests of 500 messages from 2 clients
(messages/s). Every loop is bounded in count and time, and only 127.0.0.1 is contacted. In-process baselines from
the same run: ``route_rows`` on one message (latency) and on 500 (messages/s). ``--compare-unbatched`` repeats the
single-message runs with the coalescing of concurrent requests turned off (``batch_messages=1``).
Targets (2 cores): p99 <= 25 ms for one message at 8 clients; >= 3,000 messages/s in batches.
The load generator runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from classifier.artifact import default_model_path, load_model
from classifier.data import load_bundled
from classifier.router import catalogue_hits, catalogue_similarity, decide, prepare, route_rows

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, port: int, workers: int, batch_messages: int) -> subprocess.Popen:
    code = (
        "from classifier.service.server import serve; from classifier.service.settings import ServiceSettings; "
        f"serve({str(model)!r}, port={port}, log_level='warning', "
        f"settings=ServiceSettings(workers={workers}, batch_messages={batch_messages}, max_messages=1000))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server failed: {process.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("server did not become ready in 120 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(url: str, bodies: list, clients: int, requests: int, seconds: float) -> dict:
    """``clients`` callers, each with its own connection, post ``bodies`` in turn until ``requests`` are answered or
    ``seconds`` have passed. (One shared httpx pool queues its requests unfairly when the CPU is short, which
    showed up as multi-second client-side waits for requests the server answered in 0.2 s.)"""
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    callers = [httpx.AsyncClient(base_url=url, limits=limits, timeout=60) for _ in range(clients)]

    async def one_client(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for i in counter:
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            response = await client.post("/route", json=bodies[i % len(bodies)])
            latencies.append(time.perf_counter() - start)
            failures += response.status_code != 200

    try:
        await asyncio.gather(*(c.post("/route", json=bodies[0]) for c in callers))  # connect first, not measured
        start = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in callers))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.aclose() for c in callers))
    return {"n": len(latencies), "failures": failures, "elapsed": elapsed, "p50": percentile(latencies, 0.5) * 1e3,
            "p99": percentile(latencies, 0.99) * 1e3, "per_s": len(latencies) / elapsed}  # fmt: skip


def breakdown(model, messages: list[dict]) -> str:
    """Where ``route_rows`` spends its time on one message (ms per stage, mean over the messages)."""
    stages = {"prepare": 0.0, "predict_proba": 0.0, "catalogue": 0.0, "decide": 0.0}
    for m in messages:
        t0 = time.perf_counter()
        docs, _ = prepare([m["title"]], [m["text"]])
        t1 = time.perf_counter()
        probs = model.predict_proba(docs)
        t2 = time.perf_counter()
        hits, scores = catalogue_hits(model, docs), catalogue_similarity(model, docs)
        t3 = time.perf_counter()
        decide(probs, model.labels, docs, thresholds=model.thresholds, rules=model.rules, keyword_hits=hits,
               catalogue_scores=scores)  # fmt: skip
        t4 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[name] += seconds
    return ", ".join(f"{name} {seconds / len(messages) * 1e3:.1f}" for name, seconds in stages.items())


def batch_totals(url: str) -> tuple[float, float]:
    """(messages, batches) routed so far, from the service's ``complaint_router_batch_messages`` histogram."""
    values = dict(line.partition(" ")[::2] for line in httpx.get(url + "/metrics").text.splitlines())
    return float(values["complaint_router_batch_messages_sum"]), float(values["complaint_router_batch_messages_count"])


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=400, help="Single-message requests per concurrency level.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Time cap of each level.")
    parser.add_argument("--batches", type=int, default=12, help="500-message requests.")
    parser.add_argument("--compare-unbatched", action="store_true")
    args = parser.parse_args()

    frame = load_bundled("sample")
    messages = [{"id": str(i), "title": t, "text": x} for i, (t, x) in enumerate(zip(frame["title"], frame["text"]))]
    singles = [[m] for m in messages]
    batch = (messages * 3)[:500]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {load_average()} (the machine is shared: figures are indicative)")  # fmt: skip

    model = load_model(args.model)
    route_rows(model, [m["title"] for m in batch], [m["text"] for m in batch])
    start = time.perf_counter()
    for m in messages[:100]:
        route_rows(model, [m["title"]], [m["text"]])
    single_ms = (time.perf_counter() - start) / 100 * 1e3
    start = time.perf_counter()
    for _ in range(4):
        route_rows(model, [m["title"] for m in batch], [m["text"] for m in batch])
    batch_rate = 4 * len(batch) / (time.perf_counter() - start)
    print(
        f"in-process baseline: route_rows on 1 message {single_ms:.1f} ms; on 500 messages {batch_rate:,.0f} messages/s"
    )
    print(f"  one message, ms per stage: {breakdown(model, messages[:100])} (the rest: the output DataFrame)")
    del model

    configs = [("coalescing on", 512)] + ([("coalescing off", 1)] if args.compare_unbatched else [])
    for label, batch_messages in configs:
        port = free_port()
        server = start_server(args.model, port, args.workers, batch_messages)
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(load(url, singles, 4, 40, 10))  # warm-up
            print(f"\nserver: --workers {args.workers}, {label}")
            header = ("clients", "requests", "p50 ms", "p99 ms", "req/s", "p50/in-process", "msgs/batch")
            print(" ".join(f"{h:>{max(7, len(h))}}" for h in header))
            for clients in (1, 8, 32):
                before = batch_totals(url)
                r = asyncio.run(load(url, singles, clients, args.requests, args.seconds))
                after = batch_totals(url)
                per_batch = (after[0] - before[0]) / max(after[1] - before[1], 1)
                failed = f"  ({r['failures']} failed)" if r["failures"] else ""
                print(f"{clients:>7} {r['n']:>8} {r['p50']:>7.1f} {r['p99']:>7.1f} {r['per_s']:>7.0f} "
                      f"{r['p50'] / single_ms:>13.1f}x {per_batch:>10.1f}{failed}")  # fmt: skip
            if batch_messages > 1:
                r = asyncio.run(load(url, [batch], 2, args.batches, args.seconds * 3))
                rate = r["n"] * len(batch) / r["elapsed"]
                print(f"500-message batches, 2 clients: {r['n']} requests, {rate:,.0f} messages/s "
                      f"({rate / batch_rate:.2f} of in-process route_rows), p50 {r['p50']:.0f} ms"
                      + (f"  ({r['failures']} failed)" if r["failures"] else ""))  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
