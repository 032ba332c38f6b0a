"""Throughput of a bert-base-sized Chinese BERT (random weights): training, inference and routing.

    python benchmarks/bert_gpu.py                   # GPU when present: bf16 autocast, batch sizes 64..512
    python benchmarks/bert_gpu.py --quick --device cpu   # fp32 on the CPU, tiny iteration counts (< 2 min)

Rows: training steps/s and sequences/s at fixed lengths 128 and 256 (AdamW, one 30-class head), inference
sequences/s at the same lengths (``torch.inference_mode``), and routing the bundled messages (unlabelled + routing
sets, max length 256, length-sorted batches with dynamic padding) through ``BertModel.predict_proba``. Nothing is
downloaded: the tokenizer is a WordPiece vocabulary trained on the bundled texts, the weights are random.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BERT_BASE = {"vocab_size": 21128, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
             "intermediate_size": 3072, "max_position_embeddings": 512}  # fmt: skip
LENGTHS = (128, 256)


def plan(device: str, quick: bool) -> dict:
    """Batch sizes, iteration counts and routed-message count for a device and mode."""
    if device == "cuda":
        return {"batches": [64, 256] if quick else [64, 128, 256, 512], "warmup": 2 if quick else 3,
                "steps": 5 if quick else 20, "messages": 2000 if quick else None, "route_batch": 256}  # fmt: skip
    return {"batches": [2] if quick else [4, 8], "warmup": 1, "steps": 1 if quick else 3,
            "messages": 16 if quick else 256, "route_batch": 8}  # fmt: skip


def messages(limit: int | None) -> list[str]:
    from classifier.data import load_bundled
    from classifier.text import normalize

    frames = [load_bundled("unlabelled"), load_bundled("routing")]
    texts = [normalize(f"{t} {x}") for f in frames for t, x in zip(f["title"], f["text"])]
    return texts[:limit] if limit else texts


def synchronise(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(torch, device, step, warmup: int, steps: int) -> float:
    """Seconds per call of ``step`` after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    synchronise(torch, device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronise(torch, device)
    return (time.perf_counter() - start) / steps


def peak_gib(torch, device) -> str:
    if device.type != "cuda":
        return "-"
    value = torch.cuda.max_memory_allocated() / 2**30
    torch.cuda.reset_peak_memory_stats()
    return f"{value:.1f}"


def run(device_name: str, quick: bool) -> list[dict]:
    import torch
    from transformers import BertConfig
    from transformers import BertModel as Encoder

    from classifier.models.torch_utils import autocast_dtype, resolve_device

    device = resolve_device(device_name)
    dtype = autocast_dtype("auto", device)
    precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
    settings = plan(device.type, quick)
    autocast = (lambda: torch.autocast(device_type=device.type, dtype=dtype)) if dtype else nullcontext
    torch.manual_seed(0)
    encoder = Encoder(BertConfig(**BERT_BASE), add_pooling_layer=False).to(device)
    head = torch.nn.Linear(BERT_BASE["hidden_size"], 30).to(device)
    optimizer = torch.optim.AdamW(list(encoder.parameters()) + list(head.parameters()), lr=2e-5, weight_decay=0.01)
    rows = []
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"precision {precision}, torch {torch.__version__}", flush=True)  # fmt: skip

    for phase in ("train", "infer"):
        for length in LENGTHS:
            for batch in settings["batches"]:
                ids = torch.randint(1000, BERT_BASE["vocab_size"], (batch, length), device=device)
                mask = torch.ones_like(ids)
                labels = torch.randint(0, 30, (batch,), device=device)

                def train_step():
                    encoder.train()
                    with autocast():
                        logits = head(encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0])
                    loss = torch.nn.functional.cross_entropy(logits.float(), labels)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)

                def infer_step():
                    encoder.eval()
                    with torch.inference_mode(), autocast():
                        head(encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]).float().cpu()

                try:
                    seconds = timed(torch, device, train_step if phase == "train" else infer_step,
                                    settings["warmup"], settings["steps"])  # fmt: skip
                    row = {"phase": phase, "length": length, "batch": batch, "steps/s": 1 / seconds,
                           "seq/s": batch / seconds, "peak GiB": peak_gib(torch, device)}  # fmt: skip
                except torch.OutOfMemoryError:
                    optimizer.zero_grad(set_to_none=True)
                    torch.cuda.empty_cache()
                    row = {"phase": phase, "length": length, "batch": batch, "steps/s": None, "seq/s": None,
                           "peak GiB": "OOM"}  # fmt: skip
                rows.append(row)
                print(format_row(row), flush=True)
    optimizer.state.clear()  # free the Adam moments before the routing run
    rows.append(route(encoder, device_name, settings))
    print(format_row(rows[-1]), flush=True)
    return rows


def route(encoder, device_name: str, settings: dict) -> dict:
    """Route the bundled messages through ``BertModel.predict_proba`` with the random encoder."""
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_bert import build_tokenizer

    from classifier.models.bert import BertModel
    from classifier.config import TrainConfig
    from classifier.data import load_bundled

    texts = messages(settings["messages"])
    tokenizer = build_tokenizer(texts[:3000], vocab_size=BERT_BASE["vocab_size"])
    routing = load_bundled("routing")
    labels = {h: sorted(set(routing[h]) - {""}) for h in ("screening", "department", "topic", "urgent")}
    config = TrainConfig(model="bert", base_model="random-bert-base", max_length=256,
                         batch_size=settings["route_batch"], device=device_name)  # fmt: skip
    model = BertModel(config).initialise(labels, encoder=encoder, tokenizer=tokenizer)
    model.predict_proba(texts[: settings["route_batch"]])  # warm-up
    device = model.device_
    synchronise(torch, device)
    start = time.perf_counter()
    encoded = model.encode(texts)
    tokenise = time.perf_counter() - start
    start = time.perf_counter()
    probs = model.predict_proba(texts)
    synchronise(torch, device)
    seconds = time.perf_counter() - start
    assert len(probs["department"]) == len(texts)
    mean_tokens = sum(len(row) for row in encoded) / len(encoded)
    return {"phase": f"route {len(texts)} msgs", "length": f"<=256 (mean {mean_tokens:.0f})",
            "batch": settings["route_batch"], "steps/s": None, "seq/s": len(texts) / seconds,
            "peak GiB": peak_gib(torch, device), "note": f"tokenising {tokenise / seconds:.0%} of the time"}  # fmt: skip


HEADER = f"{'phase':<18} {'length':>16} {'batch':>6} {'steps/s':>9} {'seq/s':>10} {'peak GiB':>9}"


def format_row(row: dict) -> str:
    steps = f"{row['steps/s']:.2f}" if row["steps/s"] is not None else "-"
    seqs = f"{row['seq/s']:.1f}" if row["seq/s"] is not None else "-"
    line = f"{row['phase']:<18} {row['length']!s:>16} {row['batch']:>6} {steps:>9} {seqs:>10} {row['peak GiB']:>9}"
    return line + (f"  {row['note']}" if row.get("note") else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--quick", action="store_true", help="fewer batch sizes, iterations and messages")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    print(HEADER)
    rows = run(args.device, args.quick)
    print("\nsummary (bert-base shape, random weights)")
    print(HEADER)
    for row in rows:
        print(format_row(row))
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
