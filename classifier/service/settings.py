"""Settings of the HTTP service: limits, masking, authentication; passed to worker processes as a JSON file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from classifier.errors import InputError
from classifier.i18n import tr

SETTINGS_VARIABLE = "COMPLAINT_ROUTER_SERVE_SETTINGS"
"""Environment variable naming the settings file that uvicorn worker processes build their app from."""


@dataclass(frozen=True)
class ServiceSettings:
    """What a running service allows and does; every field has a default fit for one hotline platform."""

    max_messages: int = 1000
    """Messages per ``POST /route`` request (413 past it)."""
    max_bytes: int = 8 * 2**20
    """Bytes of one request body (413 past it)."""
    mask_pii: bool = False
    """Mask personal data in the ``title``/``text`` returned by ``/route`` and ``/predict`` (after routing)."""
    token_file: str | None = None
    """File holding the bearer token every endpoint but ``/health`` requires; no token when None."""
    batch_messages: int = 512
    """Most messages routed together when concurrent requests are coalesced."""
    explain_terms: int = 8
    """Top terms returned by ``/predict``."""
    workers: int = 1
    """uvicorn worker processes; with more than one, a reload restarts them all (rolling)."""
    settings_file: str | None = None
    """The file these settings and the model path were read from (workers > 1), rewritten by a reload."""
    catalogue: str | None = None
    """A department catalogue JSON replacing the model's own (``--catalogue``), read again at every reload."""

    def __post_init__(self) -> None:
        for name in ("max_messages", "max_bytes", "batch_messages", "workers"):
            if getattr(self, name) < 1:
                value = getattr(self, name)
                raise InputError(tr(f"{name} 至少为 1，实际为 {value}。", f"{name} must be at least 1, got {value}."))
        if self.explain_terms < 0:
            raise InputError(tr(f"explain_terms 应不小于 0，实际为 {self.explain_terms}。",
                                f"explain_terms must be 0 or more, got {self.explain_terms}."))

    def read_token(self) -> str | None:
        """The bearer token from ``token_file`` (surrounding whitespace removed), or None without a file."""
        if self.token_file is None:
            return None
        try:
            token = Path(self.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(tr(f"无法读取令牌文件 {self.token_file}：{error}",
                                f"Cannot read the token file {self.token_file}: {error}")) from None
        if not token:
            raise InputError(tr(f"令牌文件 {self.token_file} 为空：应有一行令牌。",
                                f"Token file {self.token_file} is empty: expected one line holding the token."))
        return token


def write_settings_file(path: str | Path, model_path: str | Path, settings: ServiceSettings) -> None:
    """Write the model path and settings for worker processes (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"model_path": str(model_path), "settings": asdict(settings)}), encoding="utf-8")
    os.replace(tmp, path)


def read_settings_file(path: str | Path) -> tuple[Path, ServiceSettings]:
    """The model path and settings written by ``write_settings_file``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Path(data["model_path"]), ServiceSettings(**data["settings"])
