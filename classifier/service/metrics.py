"""Prometheus metrics of the service, with ``prometheus_client``.

The library (rather than hand-written text) because it gets the exposition format and the histogram buckets right
and, with several uvicorn workers, adds up the workers' counts: ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before
the workers start, each worker writes its values there, and ``/metrics`` (answered by any one worker) reads them all.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The service's counters and latency histogram, labelled by endpoint (the route's path template)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_VARIABLE))
        # one registry per app in a single process (tests build several apps); the shared directory otherwise
        self.registry = None if self.multiprocess else CollectorRegistry()
        registry = {"registry": self.registry} if self.registry is not None else {}
        self.requests = Counter(
            "complaint_router_requests", "HTTP requests answered.", ["endpoint", "method", "status"], **registry
        )
        self.request_errors = Counter(
            "complaint_router_request_errors", "HTTP requests answered with a 4xx or 5xx status.", ["endpoint", "status"],
            **registry,
        )  # fmt: skip
        self.latency = Histogram(
            "complaint_router_request_duration_seconds", "Time from request to response.", ["endpoint"],
            buckets=LATENCY_BUCKETS, **registry,
        )  # fmt: skip
        self.messages = Counter(
            "complaint_router_messages_routed", "Messages routed (any route_status).", ["endpoint"], **registry
        )
        self.message_errors = Counter(
            "complaint_router_message_errors", "Messages that got an `error: …` route_status.", ["endpoint"], **registry
        )
        self.batch_sizes = Histogram(
            "complaint_router_batch_messages", "Messages routed together (concurrent requests coalesced).",
            buckets=BATCH_BUCKETS, **registry,
        )  # fmt: skip
        self.masked = Counter(
            "complaint_router_pii_masked", "Pieces of personal data masked in responses.", ["kind"], **registry
        )
        self.reloads = Counter(
            "complaint_router_model_reloads", "Model reloads by result (ok, failed).", ["result"], **registry
        )

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        if status >= 400:
            self.request_errors.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def exposition(self) -> bytes:
        """All metrics in the Prometheus text format (every worker's, in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
