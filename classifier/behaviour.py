"""Behavioural evaluation: a model on hand-written tickets, each with its acceptable departments.

A ticket file is a CSV with ``id, text, screening, departments, script, kind`` (``departments``: every acceptable
department joined by ``|``, the first the most likely; ``无`` for 无效). The bundled suite is
``tests/behaviour/tickets.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from classifier.errors import InputError
from classifier.i18n import tr
from classifier.router import NO_DEPARTMENT, route_rows

TICKET_COLUMNS = ("id", "text", "screening", "departments", "script", "kind")


def read_tickets(path: str | Path) -> pd.DataFrame:
    """The tickets of a suite file, all columns as strings."""
    tickets = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in TICKET_COLUMNS if c not in tickets]
    if missing:
        raise InputError(tr(f"{Path(path).name}：应有列 {', '.join(TICKET_COLUMNS)}；缺少 {', '.join(missing)}。",
                            f"{Path(path).name}: expected columns {', '.join(TICKET_COLUMNS)}; missing {', '.join(missing)}."))
    return tickets


def route_tickets(model, tickets: pd.DataFrame) -> pd.DataFrame:
    """The tickets with the model's decisions and whether they are right.

    Added columns: ``predicted_screening``, ``predicted_department`` (``无`` when the decision has no department),
    ``screening_confidence``, ``department_confidence``, ``needs_review``, ``screening_ok`` (exact category) and
    ``department_ok`` (one of the acceptable departments).
    """
    decided = route_rows(model, [""] * len(tickets), tickets["text"].tolist())
    out = tickets.copy()
    out["predicted_screening"] = decided["screening"].to_numpy()
    department = decided["department"].fillna("").astype(str).to_numpy()
    out["predicted_department"] = np.where(department == "", NO_DEPARTMENT, department)
    out["screening_confidence"] = pd.to_numeric(decided["screening_confidence"], errors="coerce").to_numpy()
    out["department_confidence"] = pd.to_numeric(decided["department_confidence"], errors="coerce").to_numpy()
    out["needs_review"] = decided["needs_review"].to_numpy(dtype=bool)
    out["screening_ok"] = out["predicted_screening"].eq(out["screening"])
    out["department_ok"] = [p in set(d.split("|")) for p, d in zip(out["predicted_department"], out["departments"])]
    return out


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def class_results(routed: pd.DataFrame) -> dict:
    """Per-class figures of routed tickets (``route_tickets``).

    ``department``: per first acceptable department, ``n``, ``correct`` (an acceptable department chosen) and
    ``accuracy``; ``screening``: per category, ``n``, ``correct``, ``recall``, ``predicted`` (tickets given that
    category) and ``precision``; ``script`` and ``kind``: the department and screening accuracy per group;
    ``overall``: ``n``, ``department_accuracy``, ``screening_accuracy``, ``wrong`` (tickets with either decision
    wrong) and ``wrong_flagged`` (the share of those that ``needs_review`` flags).
    """
    primary = routed["departments"].str.split("|").str[0]
    departments = {}
    for name in sorted(primary.unique()):
        rows = routed[primary == name]
        departments[name] = {"n": len(rows), "correct": int(rows["department_ok"].sum()),
                             "accuracy": _rate(int(rows["department_ok"].sum()), len(rows))}  # fmt: skip
    screening = {}
    for category in sorted(set(routed["screening"]) | set(routed["predicted_screening"])):
        truth, said = routed["screening"].eq(category), routed["predicted_screening"].eq(category)
        correct = int((truth & said).sum())
        screening[category] = {"n": int(truth.sum()), "correct": correct, "recall": _rate(correct, int(truth.sum())),
                               "predicted": int(said.sum()), "precision": _rate(correct, int(said.sum()))}  # fmt: skip

    def accuracy_by(column: str) -> dict:
        return {value: {"n": len(rows), "department_accuracy": _rate(int(rows["department_ok"].sum()), len(rows)),
                        "screening_accuracy": _rate(int(rows["screening_ok"].sum()), len(rows))}
                for value, rows in routed.groupby(column, sort=True)}  # fmt: skip

    wrong = ~(routed["department_ok"] & routed["screening_ok"])
    return {
        "overall": {"n": len(routed), "department_accuracy": _rate(int(routed["department_ok"].sum()), len(routed)),
                    "screening_accuracy": _rate(int(routed["screening_ok"].sum()), len(routed)),
                    "wrong": int(wrong.sum()), "wrong_flagged": _rate(int(routed["needs_review"][wrong].sum()), int(wrong.sum()))},  # fmt: skip
        "department": departments,
        "screening": screening,
        "script": accuracy_by("script"),
        "kind": accuracy_by("kind"),
    }


def recall(routed: pd.DataFrame, category: str) -> float | None:
    """Share of the tickets of a screening category that the model put in it."""
    rows = routed["screening"].eq(category)
    return _rate(int((rows & routed["predicted_screening"].eq(category)).sum()), int(rows.sum()))

