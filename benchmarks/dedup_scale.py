"""Time and peak memory of ``dedup`` on 100,000 and 1,000,000 messages.

    python benchmarks/dedup_scale.py --rows 100000 1000000

The input is the bundled messages (title-less texts of the unlabelled, topic and routing files) repeated with small
perturbations (punctuation changed, a sentence added or removed, or 15% of the characters replaced, which makes a
message that is no longer a near-duplicate) and unique ids and times, written as CSV. Each size runs once, in a
fresh process (``complaint-router dedup``); its peak resident memory is that process's ``ru_maxrss``. As a baseline
in the same run, a plain pass that reads the CSV in chunks and writes it back (what any streaming command pays)
is timed on the same file.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.data import load_bundled  # noqa: E402

ADDED = ("再次反映：", "至今没有人处理！", "请尽快回复。", "这个问题已经反映过多次了，希望领导重视。")
HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"


def perturb(text: str, rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return text.replace("，", ",").replace("。", "！")
    if kind < 0.55:
        return rng.choice(ADDED) + text
    if kind < 0.8:
        parts = [p for p in re.split(r"(?<=[。！？])", text) if p]
        if len(parts) > 1:
            parts.pop(rng.randrange(len(parts)))
        return "".join(parts)
    chars = list(text)
    for i in rng.sample(range(len(chars)), k=len(chars) * 15 // 100):
        chars[i] = rng.choice(HAN)
    return "".join(chars)


def make_input(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    texts = pd.concat([load_bundled(n)["text"] for n in ("unlabelled", "topic", "routing")]).drop_duplicates()
    texts = [t for t in texts if len(t) >= 20]
    start = pd.Timestamp("2019-01-01").value
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("id,time,text\n")
        for first in range(0, rows, 50_000):
            block = []
            for n in range(first, min(first + 50_000, rows)):
                text = texts[n % len(texts)]
                text = text if n < len(texts) else perturb(text, rng)
                when = pd.Timestamp(start + rng.randrange(365 * 86_400) * 10**9).strftime("%Y-%m-%d %H:%M:%S")
                block.append((f"S{n:07d}", when, text))
            pd.DataFrame(block).to_csv(handle, header=False, index=False, lineterminator="\n")


def child(code: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``python -c code`` run in a fresh process."""
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    report = "\nimport resource\nprint('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    done = subprocess.run([sys.executable, "-c", code + report], check=True, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("PEAK")))
    return seconds, int(lines[-1].split()[1]) / 1024


PASS_THROUGH = """
from classifier.io import TableWriter, open_table
table = open_table({src!r})
with TableWriter({dst!r}) as writer:
    for chunk in table.chunks(5000):
        writer.write(chunk)
"""
DEDUP = """
from classifier.dedup import dedup_file
s = dedup_file({src!r}, {dst!r})
print(f"  {{s.rows}} rows, {{s.groups}} groups, {{s.duplicates}} duplicates")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; shared with other "
          "work while measured")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            source = Path(tmp) / f"in_{rows}.csv"
            make_input(source, rows)
            size = source.stat().st_size / 2**20
            base_s, base_mem = child(PASS_THROUGH.format(src=str(source), dst=str(Path(tmp) / "copy.csv")))
            (Path(tmp) / "copy.csv").unlink()
            print(f"{rows:,} messages ({size:,.0f} MiB CSV):")
            dedup_s, dedup_mem = child(DEDUP.format(src=str(source), dst=str(Path(tmp) / "out.csv")))
            (Path(tmp) / "out.csv").unlink()
            source.unlink()
            print(f"  dedup: {dedup_s:,.1f} s ({rows / dedup_s:,.0f} messages/s), peak RSS {dedup_mem:,.0f} MiB")
            print(f"  baseline read + write pass: {base_s:,.1f} s, peak RSS {base_mem:,.0f} MiB; "
                  f"dedup / baseline time = {dedup_s / base_s:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
