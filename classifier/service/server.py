"""Run the service under uvicorn: one process, or several workers sharing the port (``--workers``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from classifier.artifact import read_metadata
from classifier.catalogue import Catalogue
from classifier.service.metrics import MULTIPROCESS_VARIABLE
from classifier.service.settings import SETTINGS_VARIABLE, ServiceSettings, write_settings_file

WORKER_START_SECONDS = 60
"""How long uvicorn waits for a restarted worker to load its model before keeping the old one."""


def log_config(level: str = "info") -> dict:
    """uvicorn's loggers plus the service's: plain lines on stderr; uvicorn's own access log is replaced by ours."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "complaint_router.access", "complaint_router.service")
        },
    }


def serve(model_path: str | Path, *, host: str = "127.0.0.1", port: int = 8000, settings: ServiceSettings | None = None,
          log_level: str = "info", on_start: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Serve ``model_path`` until interrupted. The model folder, the token file and the catalogue are checked first
    (``ModelError``, ``InputError``), then ``on_start`` is called; each worker process then loads the model once."""
    import uvicorn

    settings = settings or ServiceSettings()
    read_metadata(model_path)
    settings.read_token()
    if settings.catalogue is not None:
        Catalogue.load(settings.catalogue)
    if on_start is not None:
        on_start()
    common = {"host": host, "port": port, "log_config": log_config(log_level), "access_log": False}
    if settings.workers == 1:
        from classifier.service.app import create_app

        uvicorn.run(create_app(model_path, settings), **common)
        return
    with tempfile.TemporaryDirectory(prefix="complaint-router-serve-") as folder:
        settings_file, metrics_dir = Path(folder) / "settings.json", Path(folder) / "metrics"
        metrics_dir.mkdir()
        settings = replace(settings, settings_file=str(settings_file))
        write_settings_file(settings_file, Path(model_path).resolve(), settings)
        os.environ[SETTINGS_VARIABLE] = str(settings_file)
        os.environ[MULTIPROCESS_VARIABLE] = str(metrics_dir)
        uvicorn.run("classifier.service.app:app_from_env", factory=True, workers=settings.workers,
                    timeout_worker_healthcheck=WORKER_START_SECONDS, **common)  # fmt: skip
