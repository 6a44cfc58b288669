#!/usr/bin/env python3
"""Convert Karpathy's llama2.c TinyStories stories15M checkpoint to a Hugging Face LlamaForCausalLM folder.

Independent of the project's TypeScript code: the weights are read straight from the llama2.c
`model.bin`, and the tokenizer is the Llama-2 SentencePiece vocabulary as llama.cpp ships it
(`models/ggml-vocab-llama-spm.gguf`), taken from the git bundle inside the npm package
node-llama-cpp@3.22.1 and loaded by transformers' own GGUF tokenizer converter. It is then checked
piece for piece (and score for score) against the checkpoint's own `tokenizer.bin`, and against
llama.cpp's tokenizer test vectors for that vocabulary (`.inp`/`.out`, produced upstream with the
original Llama-2 tokenizer).

Usage:
    python reference/convert_stories15m.py [--checkpoint model.bin] [--out DIR] [--gguf FILE]

Defaults: the checkpoint is found as $IV_CACHE_DIR/stories15M-*/model.bin (else
~/.cache/iterative-vectors/stories15M-*/model.bin; the CLI fetches it there on first use); the
output folder is $IV_REF_CACHE/stories15M-hf (default ~/.cache/iv-reference/stories15M-hf); the
GGUF vocabulary is $IV_REF_CACHE/ggml-vocab-llama-spm.gguf, fetched on demand with `npm pack`.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

NODE_LLAMA_CPP = "node-llama-cpp@3.22.1"
GGUF_NAME = "ggml-vocab-llama-spm.gguf"
# sha256 of the vocabulary file as found in node-llama-cpp@3.22.1's bundle (checked on every use).
GGUF_SHA256 = "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69"

EXPECTED_PROMPT = "Once upon a time"
EXPECTED_TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine."


def ref_cache_dir() -> Path:
    return Path(os.environ.get("IV_REF_CACHE", Path.home() / ".cache" / "iv-reference"))


def default_checkpoint() -> Path:
    roots = []
    if os.environ.get("IV_CACHE_DIR"):
        roots.append(Path(os.environ["IV_CACHE_DIR"]))
    roots.append(Path.home() / ".cache" / "iterative-vectors")
    for root in roots:
        hits = sorted(glob.glob(str(root / "stories15M-*" / "model.bin")))
        if hits:
            return Path(hits[0])
    raise SystemExit(
        "stories15M model.bin not found under $IV_CACHE_DIR or ~/.cache/iterative-vectors; run "
        "`node dist/cli.js generate \"Once upon a time\" --max-new-tokens 8` once, or pass --checkpoint"
    )


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------

def read_llama2c(path: Path):
    """Read a llama2.c (legacy, version 0) checkpoint: 7 int32 header, then fp32 tensors."""
    raw = path.read_bytes()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    cfg = dict(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv,
               vocab_size=vocab, seq_len=seq_len, shared_classifier=shared)
    data = np.frombuffer(raw, dtype="<f4", offset=28)
    head = dim // n_heads
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        if off + n > data.size:
            raise SystemExit(f"{path}: truncated checkpoint")
        arr = data[off:off + n].reshape(shape).copy()
        off += n
        return arr

    w = {}
    w["tok"] = take(vocab, dim)
    w["rms_att"] = take(n_layers, dim)
    w["wq"] = take(n_layers, n_heads * head, dim)
    w["wk"] = take(n_layers, n_kv * head, dim)
    w["wv"] = take(n_layers, n_kv * head, dim)
    w["wo"] = take(n_layers, dim, n_heads * head)
    w["rms_ffn"] = take(n_layers, dim)
    w["w1"] = take(n_layers, hidden, dim)
    w["w2"] = take(n_layers, dim, hidden)
    w["w3"] = take(n_layers, hidden, dim)
    w["rms_final"] = take(dim)
    # then freq_cis_real, freq_cis_imag (seq_len x head/2 each; unused), then the classifier if not shared
    off += seq_len * head // 2 * 2
    if not shared:
        w["cls"] = take(vocab, dim)
    return cfg, w


def permute_rope(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama2.c rotates interleaved pairs (2k, 2k+1); HF's rotate_half rotates (k, k + head/2).

    Reorder each head's output rows so that row 2k goes to k and row 2k+1 to k + head/2.
    """
    out_dim, in_dim = w.shape
    head = out_dim // n_heads
    return w.reshape(n_heads, head // 2, 2, in_dim).transpose(0, 2, 1, 3).reshape(out_dim, in_dim)


def build_model(cfg, w):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["dim"],
        intermediate_size=cfg["hidden_dim"],
        num_hidden_layers=cfg["n_layers"],
        num_attention_heads=cfg["n_heads"],
        num_key_value_heads=cfg["n_kv_heads"],
        max_position_embeddings=cfg["seq_len"],
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        hidden_act="silu",
        tie_word_embeddings=cfg["shared_classifier"],
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=None,
        dtype="float32",
    )
    model = LlamaForCausalLM(config).to(torch.float32)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    sd = {"model.embed_tokens.weight": t(w["tok"]), "model.norm.weight": t(w["rms_final"])}
    for l in range(cfg["n_layers"]):
        p = f"model.layers.{l}."
        sd[p + "input_layernorm.weight"] = t(w["rms_att"][l])
        sd[p + "post_attention_layernorm.weight"] = t(w["rms_ffn"][l])
        sd[p + "self_attn.q_proj.weight"] = t(permute_rope(w["wq"][l], cfg["n_heads"]))
        sd[p + "self_attn.k_proj.weight"] = t(permute_rope(w["wk"][l], cfg["n_kv_heads"]))
        sd[p + "self_attn.v_proj.weight"] = t(w["wv"][l])
        sd[p + "self_attn.o_proj.weight"] = t(w["wo"][l])
        sd[p + "mlp.gate_proj.weight"] = t(w["w1"][l])
        sd[p + "mlp.down_proj.weight"] = t(w["w2"][l])
        sd[p + "mlp.up_proj.weight"] = t(w["w3"][l])
    sd["lm_head.weight"] = t(w["tok"] if cfg["shared_classifier"] else w["cls"])
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [m for m in missing if "rotary_emb" not in m]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    if cfg["shared_classifier"]:
        model.tie_weights()
    return model.eval()


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

def fetch_gguf(dest: Path) -> Path:
    """Copy llama.cpp's Llama-2 SentencePiece vocabulary (and its test vectors) out of node-llama-cpp's git bundle."""
    target = dest / GGUF_NAME
    if not target.exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            print(f"fetching {GGUF_NAME} from npm package {NODE_LLAMA_CPP} ...", file=sys.stderr)
            subprocess.run(["npm", "pack", NODE_LLAMA_CPP, "--silent"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            tgz = next(Path(tmp).glob("node-llama-cpp-*.tgz"))
            with tarfile.open(tgz) as tf:
                member = tf.getmember("package/llama/gitRelease.bundle")
                tf.extract(member, tmp, filter="data")
            bundle = Path(tmp) / "package" / "llama" / "gitRelease.bundle"
            repo = Path(tmp) / "llama.cpp"
            subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(bundle), str(repo)], check=True)
            for name in (GGUF_NAME, GGUF_NAME + ".inp", GGUF_NAME + ".out"):
                blob = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:models/{name}"], check=True,
                                      stdout=subprocess.PIPE).stdout
                (dest / name).write_bytes(blob)
    got = sha256(target)
    if got != GGUF_SHA256:
        raise SystemExit(f"{target}: sha256 {got} differs from the expected {GGUF_SHA256}")
    return target


def read_tokenizer_bin(path: Path):
    """llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes."""
    raw = path.read_bytes()
    (max_len,) = struct.unpack_from("<i", raw, 0)
    off = 4
    pieces, scores = [], []
    while off < len(raw):
        score, n = struct.unpack_from("<fi", raw, off)
        off += 8
        pieces.append(raw[off:off + n])
        scores.append(score)
        off += n
    return max_len, pieces, scores


def llama2c_piece(hf_piece: str, index: int) -> bytes:
    """How stories15M's tokenizer.bin writes a SentencePiece piece: BOS/EOS renamed, '▁' as space,
    byte-fallback pieces <0xHH> as the character U+00HH in UTF-8."""
    if len(hf_piece) == 6 and hf_piece.startswith("<0x") and hf_piece.endswith(">"):
        return chr(int(hf_piece[3:5], 16)).encode("utf-8")
    if index == 1:
        hf_piece = "\n<s>\n"
    elif index == 2:
        hf_piece = "\n</s>\n"
    return hf_piece.replace("\u2581", " ").encode("utf-8")


def check_vocab_against_bin(tok, gguf_path: Path, bin_path: Path) -> dict:
    from gguf import GGUFReader

    _, pieces, scores = read_tokenizer_bin(bin_path)
    reader = GGUFReader(str(gguf_path))
    g_tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    g_scores = reader.fields["tokenizer.ggml.scores"].contents()
    if len(pieces) != len(g_tokens) or len(tok) != len(pieces):
        raise SystemExit(f"vocabulary sizes differ: tokenizer.bin {len(pieces)}, gguf {len(g_tokens)}, hf {len(tok)}")
    hf_pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    bad = []
    for i, (b, s) in enumerate(zip(pieces, scores)):
        if llama2c_piece(hf_pieces[i], i) != b or llama2c_piece(g_tokens[i], i) != b:
            bad.append((i, b, hf_pieces[i]))
        elif abs(float(g_scores[i]) - float(s)) > 0:
            bad.append((i, f"score {s}", f"score {g_scores[i]}"))
    if bad:
        raise SystemExit(f"tokenizer.bin and the GGUF vocabulary differ at {len(bad)} ids, first: {bad[:5]}")
    return {"pieces": len(pieces), "pieces_equal": True, "scores_equal": True}


def check_llama_cpp_vectors(tok, folder: Path) -> dict:
    inp = folder / (GGUF_NAME + ".inp")
    out = folder / (GGUF_NAME + ".out")
    if not inp.exists() or not out.exists():
        return {"llama_cpp_vectors": "absent"}
    tests = inp.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    want = out.read_text(encoding="utf-8").split("\n")[: len(tests)]
    fails = []
    for text, line in zip(tests, want):
        expected = [int(x) for x in line.split()]
        got = tok.encode(text, add_special_tokens=False)
        if got != expected:
            fails.append((text, expected, got))
    if fails:
        raise SystemExit(f"{len(fails)} of llama.cpp's {len(tests)} tokenizer test vectors fail, first: {fails[0]}")
    return {"llama_cpp_vectors": f"{len(tests)}/{len(tests)} equal"}


def tokenizer_from_gguf(gguf_path: Path):
    from transformers import AutoTokenizer
    import transformers.utils.logging as hf_logging

    hf_logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, legacy=True)
    # transformers 4.57's GGUF Llama converter swaps bos/eos names (eos comes out as "<s>"): set them
    # from the GGUF metadata (bos 1 "<s>", eos 2 "</s>", unk 0 "<unk>").
    tok.unk_token, tok.bos_token, tok.eos_token = "<unk>", "<s>", "</s>"
    return tok


def tokenizer_from_bin(bin_path: Path):
    """Fallback: a LlamaTokenizerFast built from tokenizer.bin's pieces and scores."""
    from transformers import LlamaTokenizerFast
    from transformers.integrations.ggml import GGUFLlamaConverter

    _, pieces, scores = read_tokenizer_bin(bin_path)
    tokens = []
    for i, b in enumerate(pieces):
        if i == 0:
            tokens.append("<unk>")
        elif i == 1:
            tokens.append("<s>")
        elif i == 2:
            tokens.append("</s>")
        elif 3 <= i < 3 + 256:
            # the byte-fallback pieces, written as the character U+00HH: SentencePiece names them <0xHH>
            ch = b.decode("utf-8")
            if len(ch) != 1 or ord(ch) != i - 3:
                raise SystemExit(f"tokenizer.bin: id {i} is {b!r}, expected the byte piece <0x{i - 3:02X}>")
            tokens.append(f"<0x{i - 3:02X}>")
        else:
            tokens.append(b.decode("utf-8").replace(" ", "\u2581"))
    types = [2, 3, 3] + [6] * 256 + [1] * (len(tokens) - 259)
    backend = GGUFLlamaConverter({"tokens": tokens, "scores": scores, "token_type": types,
                                  "bos_token_id": 1, "eos_token_id": 2, "unk_token_id": 0}).converted()
    return LlamaTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                              eos_token="</s>", add_bos_token=True, add_eos_token=False, legacy=True)


def tokenizer_checks(tok) -> dict:
    res = {}
    for text, want in (("\n", [29871, 13]), ("\n\n\n", [29871, 13, 13, 13])):
        got = tok.encode(text, add_special_tokens=False)
        if got != want:
            raise SystemExit(f"encode({text!r}) = {got}, expected {want}")
        res[repr(text)] = got
    for word in ("positive", "negative"):
        ids = tok.encode(word, add_special_tokens=False)
        pieces = tok.convert_ids_to_tokens(ids)
        if pieces != ["\u2581" + word]:
            raise SystemExit(f"encode({word!r}) = {ids} {pieces}, expected one whole-word token")
        res[repr(word)] = ids
    if tok.encode("Once upon a time") != [1, 9038, 2501, 263, 931]:
        raise SystemExit(f"encode('Once upon a time') with BOS = {tok.encode('Once upon a time')}")
    return res


# --------------------------------------------------------------------------------------------
# Check of the converted model
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        logits = model(torch.tensor([ids])).logits[0, -1]
        ids.append(int(torch.argmax(logits)))
    return ids


def check_greedy(model, tok) -> dict:
    prompt = tok.encode(EXPECTED_PROMPT)  # BOS + tokens
    want = tok.encode(EXPECTED_TEXT)
    got = greedy(model, prompt, len(want) - len(prompt))
    text = tok.decode(got, skip_special_tokens=True)
    if got != want:
        raise SystemExit(f"greedy decoding differs:\n got  {got}\n {text!r}\n want {want}\n {EXPECTED_TEXT!r}")
    return {"greedy_tokens": got, "greedy_text": text}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=None, help="llama2.c model.bin (default: found in the CLI's cache)")
    ap.add_argument("--tokenizer-bin", type=Path, default=None, help="llama2.c tokenizer.bin (default: beside model.bin)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default $IV_REF_CACHE/stories15M-hf)")
    ap.add_argument("--gguf", type=Path, default=None, help=f"{GGUF_NAME} (default: fetched into $IV_REF_CACHE)")
    ap.add_argument("--tokenizer-from-bin", action="store_true", help="fallback: build the tokenizer from tokenizer.bin")
    args = ap.parse_args(argv)

    ckpt = args.checkpoint or default_checkpoint()
    tbin = args.tokenizer_bin or ckpt.parent / "tokenizer.bin"
    out = args.out or ref_cache_dir() / "stories15M-hf"
    report = {"checkpoint": str(ckpt), "checkpoint_sha256": sha256(ckpt), "tokenizer_bin": str(tbin)}

    cfg, w = read_llama2c(ckpt)
    report["llama2c_config"] = cfg
    model = build_model(cfg, w)

    if args.tokenizer_from_bin:
        tok = tokenizer_from_bin(tbin)
        report["tokenizer_source"] = "tokenizer.bin (fallback)"
        gguf_path = None
        report.update(check_llama_cpp_vectors(tok, ref_cache_dir()))  # when the test vectors are cached
    else:
        gguf_path = args.gguf or fetch_gguf(ref_cache_dir())
        tok = tokenizer_from_gguf(gguf_path)
        report["tokenizer_source"] = f"{GGUF_NAME} from {NODE_LLAMA_CPP} (sha256 {sha256(gguf_path)})"
        report.update(check_vocab_against_bin(tok, gguf_path, tbin))
        report.update(check_llama_cpp_vectors(tok, gguf_path.parent))
    report["tokenizer_checks"] = tokenizer_checks(tok)

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)

    # Reload what was written and check it end to end.
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok2 = AutoTokenizer.from_pretrained(out)
    model2 = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    report["tokenizer_checks_saved"] = tokenizer_checks(tok2)
    if gguf_path is not None:
        report.update({k + "_saved": v for k, v in check_llama_cpp_vectors(tok2, gguf_path.parent).items()})
    if tok2.eos_token_id != 2 or tok2.bos_token_id != 1:
        raise SystemExit(f"saved tokenizer: bos {tok2.bos_token_id}, eos {tok2.eos_token_id}")
    report.update(check_greedy(model2, tok2))
    (out / "conversion.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"OK: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
