"""A SentencePiece "precompiled charsmap" built from a per-character normalisation map.

The ``tokenizers`` ``Precompiled`` normaliser reads this binary form: a little-endian ``uint32`` byte length of a
darts-clone double-array trie, the trie's 32-bit units, then a pool of NUL-terminated replacement strings. The trie
maps the UTF-8 bytes of a character to the offset of its replacement in the pool.

darts-clone unit layout (one ``uint32``): bits 0-7 the label byte, bit 8 "has a leaf", bits 10-31 the XOR offset to
the node's children (bit 9 set: offset in units of 256); a leaf unit is ``value | 1 << 31``. A node's children lie
at ``base ^ label`` and its leaf at ``base ^ 0``; every base is used once, so a label check is enough.
"""

from __future__ import annotations

import struct

import numpy as np

HAS_LEAF = 1 << 8
IS_LEAF = 1 << 31
MAX_OFFSET = 1 << 21
"""Offsets below this fit the unit without the 256-unit extension; ours stay far below it."""
SEARCH = 1024
"""Candidate bases tried at once."""


def double_array(entries: dict[bytes, int]) -> np.ndarray:
    """darts-clone units (``uint32``) of a trie from non-empty, NUL-free byte keys to values below 2**31."""
    root: dict = {}
    for key, value in entries.items():
        if not key or 0 in key or not 0 <= value < IS_LEAF:
            raise ValueError(f"Cannot store key {key!r} with value {value}: keys are non-empty and NUL-free, "
                             "values in [0, 2**31).")  # fmt: skip
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value
    units = np.zeros(256, dtype=np.uint32)
    used = np.zeros(256, dtype=bool)  # slot taken
    is_base = np.zeros(256, dtype=bool)  # base already given to a node
    used[0] = True  # the root
    pending = [(0, root)]
    while pending:
        position, node = pending.pop()
        labels = np.array(sorted(node), dtype=np.int64)
        start = int(np.argmin(used)) & ~0xFF  # the block of the first free slot
        while True:
            size = start + 2 * SEARCH
            if size > len(used):  # room for the candidates and the whole block of each
                grow = size - len(used)
                units, used, is_base = (np.concatenate([a, np.zeros(grow, a.dtype)]) for a in (units, used, is_base))
            candidates = np.arange(start, start + SEARCH)
            free = ~used[candidates[:, None] ^ labels].any(axis=1) & ~is_base[candidates]
            if free.any():
                base = int(candidates[free.argmax()])
                break
            start += SEARCH
        offset = position ^ base
        if offset >= MAX_OFFSET:
            raise ValueError("Normalisation map too large for this simple double-array builder.")
        units[position] |= offset << 10 | (HAS_LEAF if 0 in node else 0)
        is_base[base] = True
        used[base ^ labels] = True
        for label in labels.tolist():
            if label == 0:
                units[base] = IS_LEAF | node[0]
            else:
                units[base ^ label] = label
                pending.append((base ^ label, node[label]))
    last = int(np.flatnonzero(is_base).max()) | 0xFF  # keep the whole block of the last base
    return units[: last + 1].astype("<u4")


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """The ``Precompiled`` normaliser's bytes for ``mapping`` (one character -> its replacement, may be empty)."""
    pool, offsets, entries = bytearray(), {}, {}
    for char, replacement in sorted(mapping.items()):
        if replacement not in offsets:
            offsets[replacement] = len(pool)
            pool += replacement.encode("utf-8") + b"\0"
        entries[char.encode("utf-8")] = offsets[replacement]
    trie = double_array(entries).tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(pool)
