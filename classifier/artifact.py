"""Model artifact directories: save and load with metadata, label maps and verified checksums.

A directory holds the model's own files (written by its ``save``), ``labels.json`` (sorted labels per head),
``catalogue.json`` (the department catalogue the model routes to; ``learned_catalogue.json`` when its rules were
tuned with another one), ``training_rows.npy`` (a 64-bit hash of every training document, to tell when
evaluation data overlaps it) and ``metadata.json``: format version, model type
and version, library versions, training-data hash, resolved config, validation metrics, review thresholds, rule
settings and the SHA-256 of every other file, checked at load. The model kinds are found through the registry of
``classifier.models``; format version 1 (no training-row hashes, one review threshold per head) still loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata as package_metadata
from importlib import resources
from pathlib import Path

import numpy as np

from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.errors import ModelError
from classifier.i18n import tr
from classifier.io.writers import replacing_folder
from classifier.models import model_class

FORMAT = "complaint-router-model"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
METADATA = "metadata.json"
TRAINING_ROWS = "training_rows.npy"
TRAINING_DATA = "training_data.csv.gz"
"""The training rows of a model trained on a user's files (``metadata.json`` ``training_data.source`` =
``stored``); a model trained on the bundled data records ``bundled`` instead."""
LEARNED_CATALOGUE = "learned_catalogue.json"
"""The catalogue an adapted model's rules were tuned with, kept when the model routes with another one."""
_CORE_PACKAGES = ("complaint-router", "numpy", "scipy", "scikit-learn", "jieba", "rjieba", "opencc")
_TORCH_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors")


def default_model_path() -> Path:
    """``$COMPLAINT_ROUTER_MODEL``, else the model shipped inside the package (the repository's ``models/default``)."""
    chosen = os.environ.get("COMPLAINT_ROUTER_MODEL")
    return Path(chosen) if chosen else Path(str(resources.files("classifier.bundled_models") / "default"))


def document_hashes(docs: list[str]) -> np.ndarray:
    """A 64-bit hash of every normalised document, in order (to find training rows among evaluation rows)."""
    digests = b"".join(hashlib.blake2b(doc.encode("utf-8"), digest_size=8).digest() for doc in docs)
    return np.frombuffer(digests, dtype="<u8").copy()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(kind: str) -> dict[str, str]:
    names = _CORE_PACKAGES + (_TORCH_PACKAGES if model_class(kind).needs_torch else ())
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass
class RoutingModel:
    """A loaded artifact: the head model plus what the router needs around it."""

    path: Path
    metadata: dict
    model: object
    catalogue: Catalogue | None
    learned_catalogue: Catalogue | None = None
    """The catalogue the model's rules were tuned with (``catalogue`` unless replaced): what a replacing catalogue
    adds to it counts in full (``Catalogue.similarity``)."""
    _training_rows: np.ndarray | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.metadata["model_version"]

    @property
    def labels(self) -> dict[str, list[str]]:
        return self.model.labels

    @property
    def heads(self) -> list[str]:
        return list(self.model.labels)

    @property
    def thresholds(self) -> dict[str, float | dict[str, float]]:
        """Review threshold per head: one number, or one per predicted label."""
        return self.metadata.get("thresholds", {})

    @property
    def rules(self) -> dict:
        return self.metadata.get("rules", {})

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.metadata["config"])

    def predict_proba(self, docs: list[str]):
        return self.model.predict_proba(docs)

    def with_catalogue(self, catalogue: Catalogue | None) -> RoutingModel:
        """This model routing with another department catalogue (its keywords and responsibility text; the matters
        and keywords it adds to the learned one count in full); the model itself, its rules and thresholds are
        unchanged. ``None`` keeps the model's own catalogue."""
        return self if catalogue is None else replace(self, catalogue=catalogue)

    def training_overlap(self, docs: list[str]) -> int | None:
        """How many of ``docs`` (normalised) the model was trained on; None when the model did not record it."""
        if self._training_rows is None:
            if TRAINING_ROWS not in self.metadata.get("files", {}):
                return None
            self._training_rows = np.load(self.path / TRAINING_ROWS, allow_pickle=False)
        return int(np.isin(document_hashes(docs), self._training_rows).sum())


def save_model(
    model,
    directory: str | Path,
    *,
    config: TrainConfig,
    catalogue: Catalogue | None,
    learned_catalogue: Catalogue | None = None,
    training_data: dict,
    metrics: dict,
    thresholds: dict,
    rules: dict,
    training_docs: list[str] = (),
    training_frame=None,
) -> Path:
    """Write ``model`` as an artifact directory (atomically: built beside it, then moved into place).

    ``training_docs`` (the normalised training documents) are stored as hashes, for ``training_overlap``;
    ``training_frame`` (a DataFrame of the training rows), when given, as ``training_data.csv.gz``;
    ``learned_catalogue`` (the catalogue the rules were tuned with), when it is not ``catalogue``, as
    ``LEARNED_CATALOGUE``.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ModelError(tr(f"无法把模型写入 {directory}：该路径已存在且不是文件夹，请换一个文件夹名。",
                            f"Cannot write the model to {directory}: it exists and is not a folder."))
    if directory.is_dir() and any(directory.iterdir()) and not (directory / METADATA).exists():
        raise ModelError(tr(
            f"无法把模型写入 {directory}：该文件夹中有其他文件，且不是模型目录；请选择新的或空的文件夹。",
            f"Cannot write the model to {directory}: the folder holds other files and is not a model folder; "
            "choose a new or empty folder.",
        ))
    directory.parent.mkdir(parents=True, exist_ok=True)
    with replacing_folder(directory) as staging:
        files = list(model.save(staging))
        np.save(staging / TRAINING_ROWS, np.unique(document_hashes(list(training_docs))))
        files.append(TRAINING_ROWS)
        if training_frame is not None:
            training_frame.to_csv(staging / TRAINING_DATA, index=False, compression={"method": "gzip", "mtime": 0})
            files.append(TRAINING_DATA)
        (staging / "labels.json").write_text(json.dumps(model.labels, ensure_ascii=False, indent=1), encoding="utf-8")
        files.append("labels.json")
        kept = {"catalogue.json": catalogue}
        if learned_catalogue is not None and (catalogue is None or learned_catalogue.fingerprint != catalogue.fingerprint):
            kept[LEARNED_CATALOGUE] = learned_catalogue
        for name, kept_catalogue in kept.items():
            if kept_catalogue is not None:
                (staging / name).write_text(json.dumps(kept_catalogue.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
                files.append(name)
        created = datetime.now(timezone.utc)
        checksums = {name: sha256_file(staging / name) for name in sorted(files)}
        decided_by = {"files": checksums, "config": config.to_dict(), "thresholds": thresholds, "rules": rules}
        fingerprint = hashlib.sha256(json.dumps(decided_by, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:8]
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_type": model.kind,
            "model_version": f"{directory.name}-{created:%Y%m%d}-{fingerprint}",
            "created": created.isoformat(timespec="seconds"),
            "library_versions": library_versions(model.kind),
            "training_data": training_data,
            "config": config.to_dict(),
            "heads": {head: {"labels": labels} for head, labels in model.labels.items()},
            "metrics": metrics,
            "thresholds": thresholds,
            "rules": rules,
            "files": checksums,
        }
        (staging / METADATA).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return directory


def read_metadata(directory: str | Path) -> dict:
    """``metadata.json`` of a model directory, after checking the format and every file's checksum."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(tr(f"找不到模型目录：{directory}", f"Model folder not found: {directory}"))
    meta_path = directory / METADATA
    if not meta_path.exists():
        raise ModelError(tr(f"不是模型目录：{directory} 中没有 {METADATA}。", f"Not a model folder: {directory} has no {METADATA}."))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(tr(f"模型文件 {meta_path} 不是有效的 JSON：{error}",
                            f"Model file {meta_path} is not valid JSON: {error}")) from None
    if meta.get("format") != FORMAT:
        raise ModelError(tr(f"{meta_path} 不是 complaint-router 模型（format 为 {meta.get('format')!r}）。",
                            f"{meta_path} is not a complaint-router model (format {meta.get('format')!r})."))
    if meta.get("format_version") not in SUPPORTED_VERSIONS:
        raise ModelError(tr(
            f"本版本不支持 {directory} 的模型格式版本 {meta.get('format_version')}（支持 {list(SUPPORTED_VERSIONS)}）："
            "请重新训练模型或升级 complaint-router。",
            f"Model format version {meta.get('format_version')} in {directory} is not supported by this release "
            f"(supports {list(SUPPORTED_VERSIONS)}): retrain the model or upgrade complaint-router.",
        ))
    if not meta.get("files") or "labels.json" not in meta["files"]:
        raise ModelError(tr(f"{meta_path} 没有列出带校验和的文件（至少应有 labels.json）：无法校验该模型目录。",
                            f"{meta_path} lists no checksummed files (labels.json at least): the folder cannot be verified."))
    for name, expected in meta["files"].items():
        path = directory / name
        if not path.exists():
            raise ModelError(tr(f"缺少模型文件：{path}", f"Model file missing: {path}"))
        if sha256_file(path) != expected:
            raise ModelError(tr(f"模型文件 {path} 与 {METADATA} 中的校验和不符（已被修改或已损坏），请重新复制或训练模型。",
                                f"Model file {path} does not match its checksum in {METADATA} (modified or corrupt)."))
    return meta


def _warn_versions(meta: dict) -> None:
    saved = meta.get("library_versions", {})
    now = library_versions(meta.get("model_type", "linear"))
    differ = [f"{k} {saved[k]} -> {now[k]}" for k in sorted(saved) if k != "python" and now.get(k, saved[k]) != saved[k]]
    if differ:
        warnings.warn(tr(f"保存模型时的库版本与现在不同：{', '.join(differ)}。",
                         f"Model was saved with other library versions: {', '.join(differ)}."), stacklevel=3)


def read_labels(directory: str | Path) -> dict[str, list[str]]:
    """The sorted labels of each head of a model folder (``labels.json``; ``load_model`` verifies its checksum)."""
    return json.loads((Path(directory) / "labels.json").read_text(encoding="utf-8"))


def read_catalogue(directory: str | Path) -> Catalogue | None:
    """The department catalogue of a model folder (checksums verified), without loading the model; None if it has
    none."""
    meta = read_metadata(directory)
    return Catalogue.load(Path(directory) / "catalogue.json") if "catalogue.json" in meta["files"] else None


def load_model(directory: str | Path) -> RoutingModel:
    """Load an artifact directory of any model type, verifying checksums first."""
    directory = Path(directory)
    meta = read_metadata(directory)
    _warn_versions(meta)
    config = TrainConfig.from_dict(meta["config"])
    labels = read_labels(directory)
    try:
        cls = model_class(meta.get("model_type"))
    except ModelError as error:
        raise ModelError(f"{directory / METADATA}: {error}") from None
    model = cls.load(directory, config, labels)
    catalogue_file, learned_file = directory / "catalogue.json", directory / LEARNED_CATALOGUE
    catalogue = Catalogue.load(catalogue_file) if catalogue_file.exists() else None
    learned = Catalogue.load(learned_file) if LEARNED_CATALOGUE in meta["files"] else catalogue  # checksummed
    return RoutingModel(directory, meta, model, catalogue, learned)
