"""Which anonymised city a bundled message is about, for the leave-one-city-out benchmarks.

The bundled messages name cities as ``A市`` … ``K市`` and their districts and counties as ``A3区``, ``K7县``. A
message's city is the first such mention in its title, then its text (a district names its city); messages that
name none have no city ("").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_CITY = re.compile(r"([A-K])(?:市|\d{1,2}[区县市])")


def city_of(title: str, text: str) -> str:
    """The letter of the first city (or district/county of a city) named in the title, else the text; "" if none."""
    for part in (title, text):
        found = _CITY.search(part or "")
        if found:
            return found.group(1)
    return ""


def cities(frame: pd.DataFrame) -> pd.Series:
    """The city of every message of a frame in the message schema."""
    return pd.Series([city_of(t, x) for t, x in zip(frame["title"], frame["text"])], index=frame.index, dtype=str)


def city_split(frame: pd.DataFrame, city: str, base_rows: int, pool_share: float = 0.6):
    """``(base, spare, pool, test)`` for the adaptation benchmarks: ``base_rows`` messages of the other cities
    (seed 13), the other cities' remaining messages, and the city's messages split at random into a pool
    (``pool_share``: its unlabelled file) and a test set."""
    of_city = cities(frame) == city
    held, others = frame[of_city].reset_index(drop=True), frame[~of_city]
    base = others.sample(min(base_rows, len(others)), random_state=13)
    spare = others.drop(base.index).reset_index(drop=True)
    order = np.random.default_rng(13).permutation(len(held))
    cut = int(round(pool_share * len(held)))
    pool, test = held.iloc[order[:cut]].reset_index(drop=True), held.iloc[order[cut:]].reset_index(drop=True)
    return base.reset_index(drop=True), spare, pool, test
