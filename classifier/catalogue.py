"""The department catalogue: scope, handling-deadline class and keywords of each department."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.errors import InputError, MissingFileError
from classifier.features import PhraseCounter


@dataclass(frozen=True)
class Department:
    name: str
    scope: str
    deadline_class: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    departments: tuple[Department, ...]
    deadline_classes: dict
    _indexes: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: dict) -> Catalogue:
        try:
            departments = tuple(
                Department(d["name"], d.get("scope", ""), d.get("deadline_class", ""), tuple(d.get("keywords", ())))
                for d in raw["departments"]
            )
        except (KeyError, TypeError) as error:
            raise InputError(
                f"A department catalogue needs a 'departments' list of objects with a 'name'; problem: {error!r}."
            ) from None
        return cls(departments, dict(raw.get("deadline_classes", {})))

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        """Read a catalogue JSON file (see ``data/departments.json``)."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingFileError(f"Department catalogue not found: {path}") from None
        except json.JSONDecodeError as error:
            raise InputError(f"Department catalogue {path} is not valid JSON: {error}") from None
        return cls.from_dict(raw)

    def to_dict(self) -> dict:
        return {
            "deadline_classes": self.deadline_classes,
            "departments": [
                {"name": d.name, "scope": d.scope, "deadline_class": d.deadline_class, "keywords": list(d.keywords)}
                for d in self.departments
            ],
        }

    def get(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)

    def deadline_days(self, name: str) -> int | None:
        """Working days to answer for department ``name``; None when unknown."""
        department = self.get(name)
        if department is None:
            return None
        return self.deadline_classes.get(department.deadline_class, {}).get("days")

    def keyword_hits(self, texts: list[str], labels: list[str]) -> np.ndarray:
        """Matrix (texts x labels) counting occurrences of each label's keywords (0 for unknown labels)."""
        key = tuple(labels)
        if key not in self._indexes:
            self._indexes[key] = self._keyword_index(key)
        counter, owners = self._indexes[key]
        return counter.counts(texts) @ owners

    def _keyword_index(self, labels: tuple[str, ...]) -> tuple[PhraseCounter, np.ndarray]:
        """The keywords of the departments among ``labels`` and a (keyword x label) ownership matrix."""
        column = {label: j for j, label in enumerate(labels)}
        words = sorted({w for d in self.departments if d.name in column for w in d.keywords if w})
        owners = np.zeros((len(words), len(labels)), dtype=np.float32)
        index = {w: i for i, w in enumerate(words)}
        for department in self.departments:
            for word in set(department.keywords) & index.keys() if department.name in column else ():
                owners[index[word], column[department.name]] = 1
        return PhraseCounter(words), owners


