"""Precision and recall of ``dedup`` per kind of near-duplicate, on bundled messages with injected copies.

    python benchmarks/dedup_quality.py [--thresholds 0.6 0.7 0.8 0.9] [--per-kind 200]

Base messages: the bundled messages with a text (unlabelled, topic-labelled, routing), without the ones that
already have a near-duplicate among them (similarity ≥ 0.5), split by a hash of the id into a development half
(used to choose the threshold) and a test half (reported). In each half, ``--per-kind`` bases get one injected copy
of each kind: punctuation changed, spacing and full/half width changed, traditional script, a sentence added, a
sentence removed, sentences reordered, a phone number masked differently. All the other bases stay as distractors.
The real near-duplicate pairs judged by reading (``benchmarks/dedup_real_pairs.csv``) are scored separately.

A predicted pair is two rows of one output group; it is right when both rows come from the same base. Per kind:
recall = copies grouped with their base / copies; precision = right pairs / pairs that involve a copy of that kind.
Baselines in the same run: exact match of the canonical text (what a hash of the normalised text finds) and the
Jaccard index instead of the overlap coefficient as the verifying similarity.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier import dedup, minhash  # noqa: E402
from classifier.data import load_bundled  # noqa: E402

KINDS = ("punctuation", "spacing_width", "script", "added_sentence", "removed_sentence", "reordered", "masked_phone")
ADDED = ("再次反映：", "至今没有人处理！", "这个问题已经反映过多次了，希望领导重视。", "请尽快回复，谢谢！",
         "我上个月已经反映过一次，到现在还是没有任何答复，请相关部门尽快处理。", "紧急！")  # fmt: skip
SENTENCE = re.compile(r"(?<=[。！？!?；;])")
REAL_PAIRS = Path(__file__).resolve().parent / "dedup_real_pairs.csv"


def bundled_messages() -> pd.DataFrame:
    frames = [load_bundled(name)[["id", "text"]] for name in ("unlabelled", "topic", "routing")]
    frame = pd.concat(frames, ignore_index=True).drop_duplicates("id")
    return frame[frame["text"].str.strip().str.len() >= 20].reset_index(drop=True)


def run_dedup(frame: pd.DataFrame, threshold: float, folder: Path) -> pd.DataFrame:
    source, target = folder / "in.csv", folder / "out.csv"
    frame.to_csv(source, index=False)
    dedup.dedup_file(source, target, threshold=threshold)
    return pd.read_csv(target, dtype=str, keep_default_na=False)


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.split(text) if s.strip()]


def inject(text: str, kind: str, rng: random.Random) -> tuple[str, str] | None:
    """(base text, copy text) for one kind, or None when the text does not allow it."""
    if kind == "punctuation":
        swaps = {"，": [",", "、", " ", ""], "。": [".", "！", "", "；"], "！": ["!", "。", "!!"], "？": ["?", "？？"],
                 "“": ["\"", ""], "”": ["\"", ""], "：": [":", ""], "、": ["，", ","]}  # fmt: skip
        out = "".join(rng.choice(swaps[c]) if c in swaps and rng.random() < 0.7 else c for c in text)
        return (text, out) if out != text else None
    if kind == "spacing_width":
        wide = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
        out = "".join(wide.get(c, c) + (" " if rng.random() < 0.08 else "") for c in text)
        out = out.replace("，", ", ").replace("。", ". ")
        return text, "  " + out + " "
    if kind == "script":
        import opencc

        out = opencc.OpenCC("s2t").convert(text)
        return (text, out) if out != text else None
    if kind == "added_sentence":
        extra = rng.choice(ADDED)
        return text, (extra + text if extra.endswith("：") or rng.random() < 0.5 else text + extra)
    if kind == "removed_sentence":
        parts = sentences(text)
        if len(parts) < 2:
            parts = [p for p in re.split(r"(?<=，)", text) if p]
            if len(parts) < 3:
                return None
        drop = rng.randrange(1, len(parts)) if len(parts) > 2 else rng.randrange(len(parts))
        return text, "".join(p for i, p in enumerate(parts) if i != drop)
    if kind == "reordered":
        parts = sentences(text)
        if len(parts) < 2:
            return None
        shuffled = parts[:]
        while shuffled == parts:
            rng.shuffle(shuffled)
        return text, "".join(shuffled)
    if kind == "masked_phone":
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        masked = rng.choice([phone[:3] + "****" + phone[7:], "0" * 11, phone[:3] + "*" * 8])
        return f"{text}联系电话：{phone}", f"{text}联系电话：{masked}"
    raise ValueError(kind)


def build_split(bases: pd.DataFrame, per_kind: int, seed: int) -> pd.DataFrame:
    """Bases and injected copies: columns id, text, truth (base id), kind (``base`` for the originals)."""
    rng = random.Random(seed)
    texts = dict(zip(bases["id"], bases["text"]))
    order = list(bases["id"])
    rng.shuffle(order)
    rows, used = [], set()
    pool = iter(order)
    for kind in KINDS:
        made = 0
        while made < per_kind:
            base = next(pool)
            pair = inject(texts[base], kind, rng)
            if pair is None:
                continue
            texts[base] = pair[0]
            used.add(base)
            rows.append({"id": f"{base}~{kind}", "text": pair[1], "truth": base, "kind": kind})
            made += 1
    originals = [{"id": i, "text": texts[i], "truth": i, "kind": "base"} for i in bases["id"]]
    frame = pd.DataFrame(originals + rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def scores(frame: pd.DataFrame, out: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per kind: recall, precision, copies, predicted pairs."""
    truth = dict(zip(frame["id"], frame["truth"]))
    kind = dict(zip(frame["id"], frame["kind"]))
    members: dict[str, list[str]] = {}
    for row_id, group in zip(out["id"], out["duplicate_group"]):
        members.setdefault(group, []).append(row_id)
    result: dict[str, dict[str, float]] = {}
    group_of = dict(zip(out["id"], out["duplicate_group"]))
    for k in (*KINDS, "base"):
        ids = [i for i in frame["id"] if kind[i] == k]
        right = pairs = found = 0
        for i in ids:
            mates = [m for m in members[group_of[i]] if m != i]
            pairs += len(mates)
            right += sum(truth[m] == truth[i] for m in mates)
            found += k != "base" and truth[i] in mates
        result[k] = {
            "recall": found / len(ids) if k != "base" else float("nan"),
            "precision": right / pairs if pairs else float("nan"),
            "rows": len(ids),
            "pairs": pairs,
        }
    all_pairs = sum(len(m) * (len(m) - 1) // 2 for m in members.values())
    all_right = sum(
        sum(truth[a] == truth[b] for j, a in enumerate(m) for b in m[j + 1 :]) for m in members.values() if len(m) > 1
    )
    copies = frame[frame["kind"] != "base"]
    result["all"] = {
        "recall": float(np.mean([truth[c] in members[group_of[c]] for c in copies["id"]])),
        "precision": all_right / all_pairs if all_pairs else float("nan"),
        "rows": len(frame),
        "pairs": all_pairs,
    }
    return result


def exact_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [hashlib.sha1(minhash.canonical(t).encode()).hexdigest() for t in frame["text"]]
    return pd.DataFrame({"id": frame["id"], "duplicate_group": keys})


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared) if shared >= min(minhash.MIN_SHARED, len(a), len(b)) else 0.0


def real_pairs(threshold: float, folder: Path, messages: pd.DataFrame) -> dict[str, float] | None:
    if not REAL_PAIRS.exists():
        return None
    judged = pd.read_csv(REAL_PAIRS, dtype=str, keep_default_na=False)
    ids = sorted(set(judged["id_a"]) | set(judged["id_b"]))
    frame = messages[messages["id"].isin(ids)]
    out = run_dedup(frame, threshold, folder)
    group = dict(zip(out["id"], out["duplicate_group"]))
    judged["predicted"] = [group[a] == group[b] for a, b in zip(judged["id_a"], judged["id_b"])]
    repeat = judged["verdict"].eq("repeat")
    bins = pd.cut(judged["similarity"].astype(float), [0, 0.7, 0.8, 0.9, 1.0])
    print("\nreal pairs judged by reading, by similarity (a stratified sample, not the corpus' mix):")
    print(judged.groupby(bins, observed=True)["verdict"].value_counts().unstack(fill_value=0).to_string())
    tp = int((judged["predicted"] & repeat).sum())
    predicted = int(judged["predicted"].sum())
    return {"pairs": len(judged), "repeats": int(repeat.sum()), "recall": tp / max(int(repeat.sum()), 1),
            "precision": tp / predicted if predicted else float("nan"), "predicted": predicted}  # fmt: skip


def show(title: str, result: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print("| kind | copies | recall | precision (pairs) |")
    print("| --- | --- | --- | --- |")
    for k, m in result.items():
        recall = "" if np.isnan(m["recall"]) else f"{m['recall']:.3f}"
        precision = "" if np.isnan(m["precision"]) else f"{m['precision']:.3f} ({m['pairs']})"
        print(f"| {k} | {m['rows']} | {recall} | {precision} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    messages = bundled_messages()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        screened = run_dedup(messages, 0.5, folder)
        clean = messages[screened["duplicate_group"].map(screened["duplicate_group"].value_counts()).eq(1).to_numpy()]
        half = np.array([int(hashlib.md5(i.encode()).hexdigest(), 16) % 2 for i in clean["id"]])
        dev = build_split(clean[half == 0], args.per_kind, args.seed)
        test = build_split(clean[half == 1], args.per_kind, args.seed + 1)
        print(f"{len(messages)} bundled messages, {len(clean)} without a near-duplicate among them; "
              f"development {len(dev)} rows, test {len(test)} rows")  # fmt: skip
        print("\nthreshold choice on the development half (all kinds together):")
        print("| threshold | recall | precision | F1 |")
        print("| --- | --- | --- | --- |")
        f1s = {}
        for threshold in args.thresholds:
            m = scores(dev, run_dedup(dev, threshold, folder))["all"]
            f1s[threshold] = 2 * m["precision"] * m["recall"] / (m["precision"] + m["recall"])
            print(f"| {threshold} | {m['recall']:.3f} | {m['precision']:.3f} | {f1s[threshold]:.3f} |")
        near_best = [t for t, f1 in f1s.items() if f1 >= max(f1s.values()) - 0.001]
        print(f"\nthresholds within 0.001 of the best development F1: {near_best}; the injected kinds cannot choose "
              f"among them, the real pairs below do; shipped default: {minhash.THRESHOLD}")  # fmt: skip
        show(f"test half, threshold {minhash.THRESHOLD} (overlap coefficient)",
             scores(test, run_dedup(test, minhash.THRESHOLD, folder)))  # fmt: skip
        show("test half, baseline: exact match of the canonical text", scores(test, exact_baseline(test)))
        original = dedup.similarity
        dedup.similarity = jaccard
        try:
            show(f"test half, threshold {minhash.THRESHOLD}, Jaccard instead of overlap",
                 scores(test, run_dedup(test, minhash.THRESHOLD, folder)))  # fmt: skip
        finally:
            dedup.similarity = original
        real = real_pairs(minhash.THRESHOLD, folder, messages)
        if real:
            print(f"\nreal pairs judged by reading ({REAL_PAIRS.name}), threshold {minhash.THRESHOLD}: "
                  f"{real['pairs']} pairs, {real['repeats']} judged repeats; recall {real['recall']:.3f}, "
                  f"precision {real['precision']:.3f} ({real['predicted']} pairs grouped)")  # fmt: skip


if __name__ == "__main__":
    main()
