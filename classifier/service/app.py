"""The FastAPI app: ``create_app(model_path, settings)``; ``app_from_env()`` builds it in a uvicorn worker process.

Endpoints: ``POST /route``, ``POST /predict``, ``GET /health``, ``GET /ready``, ``GET /model``, ``GET /metrics``,
``POST /admin/reload``; the OpenAPI page is ``/docs``. An outer ASGI layer (``_Gateway``) checks the bearer token and
the body size before the app sees a request, and writes one access-log line (ids, sizes, status, latency — never
message text) and the metrics of every request.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
import threading
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from classifier.errors import ModelError
from classifier.predict import predict
from classifier.service.metrics import Metrics
from classifier.service.routing import BatchRouter, ModelSlot, mask_fields
from classifier.service.schemas import (
    Error,
    Health,
    Message,
    ModelInfo,
    Prediction,
    PredictRequest,
    Ready,
    Reloaded,
    ReloadRequest,
    RoutedMessage,
)
from classifier.service.settings import SETTINGS_VARIABLE, ServiceSettings, read_settings_file, write_settings_file

ACCESS_LOG = logging.getLogger("complaint_router.access")
LOG = logging.getLogger("complaint_router.service")
OPEN_PATHS = ("/health",)
"""Paths answered without the bearer token."""
_LOGGED_IDS = 50
"""Message ids written per access-log line (the count says how many there were)."""


@dataclass
class Service:
    """What the endpoints share: settings, the model slot, the batch router, metrics, the token."""

    settings: ServiceSettings
    slot: ModelSlot
    router: BatchRouter
    metrics: Metrics
    token: str | None = None
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse(Error(error=message, **extra).model_dump(exclude_none=True), status_code=status)


class _TooLarge(HTTPException):
    """A body without Content-Length grew past the limit while it was read (FastAPI answers HTTPExceptions)."""

    def __init__(self, size: int, limit: int):
        super().__init__(413, f"request body too large: {size:,} bytes or more; at most {limit:,} bytes per request.")


class _Gateway:
    """Outermost ASGI layer: bearer token, body size limit, access log and metrics of every HTTP request."""

    def __init__(self, app, service: Service, paths: frozenset[str]):
        self.app, self.service, self.paths = app, service, paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        seen = {"status": 500, "in": 0, "out": 0}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["out"] += len(message.get("body", b""))
            await send(message)

        async def receiving():
            message = await receive()
            if message["type"] == "http.request":
                seen["in"] += len(message.get("body", b""))
                if seen["in"] > self.service.settings.max_bytes:
                    raise _TooLarge(seen["in"], self.service.settings.max_bytes)
            return message

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, sending)
            else:
                await self.app(scope, receiving, sending)
        finally:
            self._record(scope, seen, time.perf_counter() - start)

    def _refusal(self, scope) -> Response | None:
        """A 401 or 413 response when the request may not reach the app, else None."""
        headers = dict(scope["headers"])
        token = self.service.token
        if token is not None and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                response = _error(
                    401, "missing or wrong bearer token: send the header 'Authorization: Bearer <token>'."
                )
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.service.settings.max_bytes:
            return _error(413, _TooLarge(int(length), self.service.settings.max_bytes).detail)
        return None

    def _record(self, scope, seen: dict, seconds: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or (scope["path"] if scope["path"] in self.paths else "other")
        self.service.metrics.observe(endpoint, scope["method"], seen["status"], seconds)
        state = scope.get("state") or {}
        ids = state.get("ids", [])
        entry = {
            "method": scope["method"], "path": endpoint, "status": seen["status"], "bytes_in": seen["in"],
            "bytes_out": seen["out"], "ms": round(seconds * 1000, 2), "messages": state.get("messages"),
            "ids": ids[:_LOGGED_IDS], "model_version": state.get("model_version"),
        }  # fmt: skip
        ACCESS_LOG.info(json.dumps({k: v for k, v in entry.items() if v not in (None, [])}, ensure_ascii=False))


def create_app(model_path: str | Path, settings: ServiceSettings | None = None) -> FastAPI:
    """The service app for the model folder ``model_path``; the model is loaded when the app starts (once per
    worker process), checksums verified. Raises ``InputError`` at once on an unreadable token file."""
    settings = settings or ServiceSettings()
    catalogue = Path(settings.catalogue) if settings.catalogue else None
    slot, metrics = ModelSlot(Path(model_path), catalogue=catalogue), Metrics()
    router = BatchRouter(slot, batch_messages=settings.batch_messages, mask_pii=settings.mask_pii,
                         on_batch=metrics.batch_sizes.observe)  # fmt: skip
    service = Service(settings, slot, router, metrics, token=settings.read_token())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(slot.load)
        LOG.info("model %s loaded from %s (pid %d)", slot.model.version, slot.path, os.getpid())
        service.router.start()
        if threading.current_thread() is threading.main_thread():
            if settings.workers == 1:
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(_reload(service, None, "SIGHUP")))
            else:  # uvicorn's parent process restarts the workers; a SIGHUP sent to the whole group must not end them
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
        yield
        await service.router.stop()

    app = FastAPI(
        title="complaint-router",
        summary="Screen and route citizen messages for government service hotlines (12345).",
        description="Every endpoint but `/health` needs `Authorization: Bearer <token>` when the service was started "
        'with `--token-file`. Errors come back as `{"error": "…"}` with status 401, 413, 422, 409 or 503.',
        lifespan=lifespan,
    )
    app.state.service = service
    refusals = {401: {"model": Error, "description": "Missing or wrong bearer token."}}
    too_large = {413: {"model": Error, "description": "Too many messages or bytes in one request."}}
    invalid = {422: {"model": Error, "description": "Malformed JSON or a field of the wrong type; `detail` names it."}}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        detail = [_invalid(e) for e in error.errors()]
        where = "; ".join(f"{_field(d['loc'])}: {d['msg']}" for d in detail[:5])
        return _error(422, f"invalid request: {where}", detail=detail)

    @app.post("/route", response_model=list[RoutedMessage], responses={**refusals, **too_large, **invalid},
              summary="Route a list of messages")  # fmt: skip
    async def route(messages: list[Message], request: Request):
        """The routing of each message, in order. A message that cannot be routed (empty text …) gets
        `route_status` `error: <reason>` and does not fail the others."""
        request.state.ids = [m.id for m in messages]
        request.state.messages = len(messages)
        if len(messages) > settings.max_messages:
            return _error(413, f"too many messages: {len(messages):,}; at most {settings.max_messages:,} per request.")
        if slot.model is None:
            return _error(503, "no model loaded yet.")
        rows, masked = await service.router.route([m.model_dump() for m in messages])
        _count(service, "/route", rows, masked)
        request.state.model_version = rows[0]["model_version"] if rows else None
        return JSONResponse(rows)

    @app.post("/predict", response_model=Prediction, responses={**refusals, **too_large, **invalid},
              summary="Route one message and explain the department")  # fmt: skip
    async def predict_one(message: PredictRequest, request: Request):
        """The routing of one message with the terms that drove the department choice and the deadline."""
        request.state.ids = [message.id] if message.id else []
        request.state.messages = 1
        model = slot.model
        if model is None:
            return _error(503, "no model loaded yet.")
        result = await service.router.run(_predict, model, message, settings)
        masked = result.pop("__masked__")
        _count(service, "/predict", [result], masked)
        request.state.model_version = model.version
        return JSONResponse(result)

    @app.get("/health", response_model=Health, summary="Liveness")
    async def health():
        """`ok` while the process answers; needs no token."""
        return {"status": "ok"}

    @app.get("/ready", response_model=Ready, responses={503: {"model": Ready}}, summary="Readiness")
    async def ready():
        """200 when a model is loaded and messages can be routed, 503 otherwise."""
        loaded = slot.model is not None
        body = {"ready": loaded, "model_version": slot.model.version if loaded else None}
        return JSONResponse(body, status_code=200 if loaded else 503)

    @app.get("/model", response_model=ModelInfo, responses=refusals, summary="The loaded model")
    async def model_info():
        """Version, heads, labels, review thresholds and validation metrics of the loaded model, and the department
        catalogue it routes with."""
        model = slot.model
        meta = model.metadata
        return ModelInfo(
            version=model.version, model_type=meta.get("model_type", ""), created=meta.get("created"),
            heads=model.heads, labels=model.labels, thresholds=model.thresholds, metrics=meta.get("metrics", {}),
            catalogue=str(slot.catalogue) if slot.catalogue is not None else None,
        )  # fmt: skip

    @app.get("/metrics", response_class=Response, responses=refusals, summary="Prometheus metrics")
    async def metrics():
        """Requests, latency histogram, messages routed, errors and reloads by endpoint, in the Prometheus text
        format (all worker processes together)."""
        return Response(service.metrics.exposition(), media_type=service.metrics.content_type)

    @app.post("/admin/reload", response_model=Reloaded,
              responses={**refusals, **invalid, 409: {"model": Error, "description": "The model could not be "
                         "loaded (or the catalogue not read); the old one keeps serving (its version is in `model_version`)."}},
              summary="Load a model folder and swap it in")  # fmt: skip
    async def reload(body: ReloadRequest | None = None):
        """Load the model folder (by default the current one, read again), verify its checksums and put it in
        service at once; requests already being routed finish with the old model. A model that does not load
        leaves the old one serving. `SIGHUP` does the same with the current folder."""
        return await _reload(service, body.model if body else None, "request")

    paths = frozenset(getattr(r, "path", "") for r in app.routes)
    app.add_middleware(_Gateway, service=service, paths=paths)
    return app


def _invalid(error: dict) -> dict:
    """One entry of a 422 ``detail``: where (``loc``), why (``msg``), the error ``type``; never the value sent."""
    if error["type"] == "json_invalid":  # FastAPI puts the character position where a field name would be
        reason = (error.get("ctx") or {}).get("error", "")
        return {
            "loc": ["body"],
            "msg": f"invalid JSON at character {error['loc'][-1]}: {reason}".rstrip(": "),
            "type": error["type"],
        }
    return {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}


def _field(loc: list) -> str:
    """``body[0].text`` from FastAPI's ``["body", 0, "text"]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _predict(model, message: PredictRequest, settings: ServiceSettings) -> dict:
    result = {"title": message.title, "text": message.text}
    result.update(predict(model, message.text, message.title, explain=settings.explain_terms))
    result = {
        k: (None if v == "" and k not in ("route_status", "model_version", "title", "text") else v)
        for k, v in result.items()
    }
    masked: Counter = Counter()
    if settings.mask_pii:
        mask_fields(result, masked)
    result["__masked__"] = masked
    return result


def _count(service: Service, endpoint: str, rows: list[dict], masked: Counter) -> None:
    metrics = service.metrics
    metrics.messages.labels(endpoint).inc(len(rows))
    errors = sum(1 for row in rows if row["route_status"] != "ok")
    if errors:
        metrics.message_errors.labels(endpoint).inc(errors)
    for kind, n in masked.items():
        metrics.masked.labels(kind).inc(n)


async def _reload(service: Service, path: str | None, source: str) -> JSONResponse:
    """Load ``path`` (or the current folder) and swap it in; with several workers, have the others restarted."""
    slot, settings = service.slot, service.settings
    async with service.reload_lock:
        previous = slot.model.version if slot.model is not None else None
        try:
            model = await asyncio.to_thread(slot.load, Path(path) if path else None)
        except (ModelError, OSError, ValueError) as error:
            service.metrics.reloads.labels("failed").inc()
            LOG.error("reload (%s) failed, model %s keeps serving: %s", source, previous, error)
            return _error(409, f"not reloaded (model or catalogue), {previous} keeps serving: {error}", model_version=previous)
        service.metrics.reloads.labels("ok").inc()
        LOG.info("model reload (%s): %s -> %s from %s", source, previous, model.version, slot.path)
        restarting = settings.workers > 1 and settings.settings_file is not None
        if restarting:  # the other workers load it when uvicorn replaces them, one at a time
            write_settings_file(settings.settings_file, slot.path, settings)
            os.kill(os.getppid(), signal.SIGHUP)
        body = Reloaded(
            status="ok", model_version=model.version, previous_version=previous or "", workers_restarting=restarting
        )
        return JSONResponse(body.model_dump())


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker process, from the settings file named by ``$COMPLAINT_ROUTER_SERVE_SETTINGS``."""
    model_path, settings = read_settings_file(os.environ[SETTINGS_VARIABLE])
    return create_app(model_path, settings)
