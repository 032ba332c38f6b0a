"""The department catalogue: scope, handling-deadline class and keywords of each department."""

from __future__ import annotations

import json
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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

    @classmethod
    def from_dict(cls, raw: dict) -> Catalogue:
        try:
            departments = tuple(
                Department(d["name"], d.get("scope", ""), d.get("deadline_class", ""), tuple(d.get("keywords", ())))
                for d in raw["departments"]
            )
        except (KeyError, TypeError) as error:
            raise ValueError(
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
            raise FileNotFoundError(f"Department catalogue not found: {path}") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"Department catalogue {path} is not valid JSON: {error}") from None
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
        column = {label: j for j, label in enumerate(labels)}
        words = sorted({w for d in self.departments if d.name in column for w in d.keywords if w})
        index = {w: i for i, w in enumerate(words)}
        owners = np.zeros((len(words), len(labels)), dtype=np.float32)
        for department in self.departments:
            if department.name in column:
                for word in set(department.keywords) & index.keys():
                    owners[index[word], column[department.name]] = 1
        return _phrase_counter(tuple(words)).counts(texts) @ owners


@lru_cache(maxsize=8)
def _phrase_counter(words: tuple[str, ...]) -> PhraseCounter:
    return PhraseCounter(words)
