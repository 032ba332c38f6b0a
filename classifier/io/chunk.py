"""What readers give: chunks of rows with the reason each row could not be read, and cells as text."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd


@dataclass
class Chunk:
    """Consecutive rows of a table, every column ``str``, and per row the reason it could not be read.

    ``errors[i]`` is ``""`` when row ``i`` is fine, else a reason such as ``line 12 has 5 fields, the header
    has 4``; such a row is kept in place with whatever cells could be read.
    """

    frame: pd.DataFrame
    errors: list[str]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_errors(self) -> bool:
        return any(self.errors)


def cell_text(value) -> str:
    """A cell value as text: ``""`` for nothing, ``12`` for the float 12.0, JSON for lists and objects."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
