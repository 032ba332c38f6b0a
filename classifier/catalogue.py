"""The department catalogue: each department's responsibility text (权责清单: scope, typical matters, example
tickets), handling-deadline class and keywords.

A city edits the catalogue to route its own way: the keywords feed the keyword rule, and the responsibility text
feeds the catalogue-similarity rule (``similarity``: how close a message is to each department's text), both
applied at routing time, so an edit takes effect without retraining. Older catalogues without ``matters`` or
``examples`` still load (the missing fields are empty).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.errors import InputError, MissingFileError
from classifier.features import PhraseCounter
from classifier.i18n import tr
from classifier.text import normalize

TEXT_FIELDS = ("matters", "examples", "keywords")
"""Fields of a department that hold a list of strings."""


@dataclass(frozen=True)
class Department:
    name: str
    scope: str
    deadline_class: str
    keywords: tuple[str, ...]
    matters: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The responsibility text the similarity rule matches messages against: scope, matters, keywords, examples."""
        return normalize(" ".join([self.scope, *self.matters, *self.keywords, *self.examples]))


def _strings(raw: dict, key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(tr(
            f"部门 {raw.get('name')!r}：'{key}' 应为字符串列表，如 [\"内河整治\", \"河道清淤\"]；实际为 {value!r}。",
            f"Department {raw.get('name')!r}: '{key}' must be a list of strings such as [\"内河整治\", \"河道清淤\"]; "
            f"found {value!r}.",
        ))
    return tuple(item.strip() for item in value if item.strip())


@dataclass(frozen=True)
class Catalogue:
    departments: tuple[Department, ...]
    deadline_classes: dict
    _indexes: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: dict) -> Catalogue:
        try:
            departments = tuple(
                Department(d["name"], d.get("scope", "") or "", d.get("deadline_class", ""), _strings(d, "keywords"),
                           _strings(d, "matters"), _strings(d, "examples"))  # fmt: skip
                for d in raw["departments"]
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise InputError(tr(
                f"部门目录应有 'departments' 列表，其中每项是带 'name' 的对象；问题：{error!r}。",
                f"A department catalogue needs a 'departments' list of objects with a 'name'; problem: {error!r}.",
            )) from None
        return cls(departments, dict(raw.get("deadline_classes", {})))

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        """Read a catalogue JSON file (see ``data/departments.json``)."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingFileError(tr(f"找不到部门目录：{path}", f"Department catalogue not found: {path}")) from None
        except IsADirectoryError:
            raise InputError(tr(f"部门目录 {path} 是一个文件夹：应为 JSON 文件。",
                                f"Department catalogue {path} is a folder: expected a JSON file.")) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputError(tr(f"部门目录 {path} 不是有效的 JSON：{error}",
                                f"Department catalogue {path} is not valid JSON: {error}")) from None
        if not isinstance(raw, dict):
            raise InputError(tr(f"部门目录 {path}：应为含 'departments' 列表的 JSON 对象。",
                                f"Department catalogue {path}: expected a JSON object with a 'departments' list."))
        return cls.from_dict(raw)

    def to_dict(self) -> dict:
        return {
            "deadline_classes": self.deadline_classes,
            "departments": [
                {"name": d.name, "scope": d.scope, "matters": list(d.matters), "examples": list(d.examples),
                 "deadline_class": d.deadline_class, "keywords": list(d.keywords)}  # fmt: skip
                for d in self.departments
            ],
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the catalogue as JSON (the format ``load`` reads, indented for editing), atomically. An existing
        file (perhaps a city's edits) is replaced only with ``overwrite``; a model folder is never written into."""
        from classifier.io.writers import check_output_folder, write_text_file

        path = Path(path)
        if path.is_dir():
            raise InputError(tr(f"输出 {path} 是一个文件夹：应为 city.json 这样的文件名。",
                                f"Output {path} is a folder: expected a file name such as city.json."))  # fmt: skip
        check_output_folder(path.parent)
        if (path.parent / "metadata.json").exists():
            raise InputError(tr(f"{path.parent} 是模型目录：其中的文件有校验和，请写到模型目录之外。",
                                f"{path.parent} is a model folder (its files are checksummed): write outside it."))  # fmt: skip
        if path.exists() and not overwrite:
            raise InputError(tr(f"{path} 已存在（可能是改过的目录）：换一个文件名，或加 --force 覆盖。",
                                f"{path} exists (perhaps an edited catalogue): choose another name, or pass --force to replace it."))  # fmt: skip
        return write_text_file(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")

    def mismatch_note(self, departments: Sequence[str], ignore: Sequence[str] = ()) -> str | None:
        """A one-line warning when some of a model's ``departments`` have no entry in this catalogue (they route
        without keywords, responsibility text or deadline), naming the catalogue's departments the model lacks as
        possible misspellings; None when every department has one. ``ignore``: labels that need no entry (the
        department of nothing to handle). A catalogue may list more departments than the model has."""
        names = [d.name for d in self.departments]
        missing = [name for name in departments if name not in names and name not in ignore]
        if not missing:
            return None
        unknown = [name for name in names if name not in departments]
        zh = f"部门目录中没有模型的 {len(missing)} 个部门：{'、'.join(missing)}（这些部门不用关键词、职责文本和办理时限）"
        en = (f"the catalogue has no entry for {len(missing)} of the model's departments: {', '.join(missing)} (they "
              "route without keywords, responsibility text or deadline)")  # fmt: skip
        if unknown:
            zh += f"；目录中有模型没有的部门：{'、'.join(unknown)}（名称写法不同？）"
            en += f"; the catalogue has departments the model lacks: {', '.join(unknown)} (spelt differently?)"
        return tr(zh + "。", en[0].upper() + en[1:] + ".")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the catalogue's content (departments and deadline classes), the same for equal catalogues;
        computed once (routing reads it for every batch)."""
        if "fingerprint" not in self._indexes:
            content = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
            self._indexes["fingerprint"] = hashlib.sha256(content.encode("utf-8")).hexdigest()
        return self._indexes["fingerprint"]

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
        key = ("keywords", tuple(labels))
        if key not in self._indexes:
            self._indexes[key] = self._keyword_index(key[1])
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

    def similarity(self, texts: list[str], labels: list[str], learned: Catalogue | None = None) -> np.ndarray:
        """Matrix (texts x labels) of the similarity, in [0, 1], between each normalised text and each label's
        responsibility text (0 for labels the catalogue lacks).

        It is the cosine of vectors over the catalogue's terms, the Chinese character bigrams of the responsibility
        texts (bigrams match a city's new words without a dictionary). A term weighs ``idf = log(1 + departments / df)``
        (``df``: the departments whose text has it) times ``1 + log(count)``; a text is compared on the catalogue
        terms it contains, so a short message naming one department's matters scores as high as a long one.

        ``learned``: the catalogue the model's rules were tuned with, when this one replaces it. A matter or keyword
        this catalogue gives a department and ``learned`` did not (a city's addition, such as 排涝 for 水利局) is
        something the model cannot have learned: a text that names it gets similarity 1 to that department.
        """
        key = ("similarity", tuple(labels))
        if key not in self._indexes:
            self._indexes[key] = self._similarity_index(key[1])
        counter, weights = self._indexes[key]
        scores = np.zeros((len(texts), len(labels)), dtype=np.float32)
        if counter is not None and len(texts):
            counts = counter.sparse_counts(texts)
            counts.data = (1 + np.log(counts.data)) * weights["idf"][counts.indices]
            norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1))).ravel()
            scores = (np.asarray(counts @ weights["departments"]) / np.maximum(norms, 1e-9)[:, None]).astype(np.float32)
        if learned is not None and learned is not self and len(texts):
            scores = np.maximum(scores, self.names_additions(texts, labels, learned))
        return scores

    def additions(self, learned: Catalogue, labels: Sequence[str]) -> dict[str, list[str]]:
        """The matters and keywords (normalised, two characters or more) this catalogue gives each of ``labels``
        beyond what ``learned`` gives it."""

        def phrases(catalogue: Catalogue, name: str) -> set[str]:
            department = catalogue.get(name)
            items = (department.matters + department.keywords) if department else ()
            return {normalize(item) for item in items if len(normalize(item)) >= 2}

        added = {name: sorted(phrases(self, name) - phrases(learned, name)) for name in labels}
        return {name: items for name, items in added.items() if items}

    def names_additions(self, texts: list[str], labels: list[str], learned: Catalogue) -> np.ndarray:
        """Matrix (texts x labels): 1 where a text names one of the label's ``additions`` over ``learned``, else 0."""
        key = ("additions", tuple(labels), learned.fingerprint)
        if key not in self._indexes:
            added = self.additions(learned, labels)
            phrases = sorted({p for items in added.values() for p in items})
            owners = np.zeros((len(phrases), len(labels)), dtype=np.float32)
            for name, items in added.items():
                for item in items:
                    owners[phrases.index(item), list(labels).index(name)] = 1
            self._indexes[key] = (PhraseCounter(phrases) if phrases else None, owners)
        counter, owners = self._indexes[key]
        if counter is None:
            return np.zeros((len(texts), len(labels)), dtype=np.float32)
        return ((counter.counts(texts) @ owners) > 0).astype(np.float32)

    def _similarity_index(self, labels: tuple[str, ...]) -> tuple[PhraseCounter | None, dict]:
        """The catalogue's terms and their (term x label) weights, each label's column of unit length."""
        texts = {d.name: d.text for d in self.departments if d.name in labels}
        terms_of = {name: [t[i : i + 2] for i in range(len(t) - 1) if _is_han(t[i]) and _is_han(t[i + 1])]
                    for name, t in texts.items()}  # fmt: skip
        terms = sorted({t for grams in terms_of.values() for t in grams})
        if not terms:
            return None, {}
        index = {t: i for i, t in enumerate(terms)}
        counts = np.zeros((len(terms), len(labels)), dtype=np.float32)
        for name, grams in terms_of.items():
            for term in grams:
                counts[index[term], labels.index(name)] += 1
        df = (counts > 0).sum(axis=1)
        idf = np.log1p(len(terms_of) / np.maximum(df, 1)).astype(np.float32)
        weighted = np.where(counts > 0, 1 + np.log(np.maximum(counts, 1)), 0) * idf[:, None]
        weighted /= np.maximum(np.linalg.norm(weighted, axis=0, keepdims=True), 1e-9)
        return PhraseCounter(terms), {"idf": idf, "departments": weighted.astype(np.float32)}


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"
