#!/usr/bin/env python3
"""Iterative Vectors (Liu & Deng, ICML 2025): an independent PyTorch + transformers reference.

Written from the method description (shared/docs/iterative-vectors.md), not from the project's
TypeScript code. Plain on purpose: fp32 on CPU, one prompt at a time (no padding, no batching),
eager attention, torch.no_grad(), model.eval(). Activations are read and edited with forward hooks
on every decoder layer's attention output projection, `model.model.layers[l].self_attn.o_proj`:
the vector is added to that module's output in place at the given positions (so every later layer
sees the edit), and what is recorded is the value after the edit.

Module use:
    ref = Reference("~/.cache/iv-reference/stories15M-hf")
    pb = PromptBuilder(ref.tok, ["negative", "positive"])
    iv = extract(ref, pb, episodes, refresh_every=10, strength=0.3)          # Algorithm 1
    logits, pred = evaluate_episode(ref, pb, demos, query_text, iv, 0.5)  # Algorithm 2

CLI:
    python reference/iv_reference.py extract --dataset ../shared/datasets/sst2 --episodes 20 --out iv.safetensors
    python reference/iv_reference.py eval --dataset ../shared/datasets/sst2 --vector iv.safetensors --episodes 100
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

IO_SEPARATOR = "\n"
EXAMPLE_SEPARATOR = "\n\n\n"


def default_model_dir() -> Path:
    return Path(os.environ.get("IV_REF_CACHE", Path.home() / ".cache" / "iv-reference")) / "stories15M-hf"


# --------------------------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------------------------

@dataclass
class Prompt:
    tokens: list[int]
    io_positions: list[int]          # each demonstration's io position, then the query's
    demo_labels: list[int]
    cut: list[int]                   # input tokens removed per sample (demonstrations, then query)
    query_input: list[int]           # the query's input tokens as they appear in the prompt (after the cut)


class PromptBuilder:
    """The official verbalizer, tokenized piece by piece with the tokenizer's plain encode().

    demo_i  = encode(text.rstrip())[:c] + encode("\\n") + encode(label) + encode("\\n\\n\\n")
    query   = encode(text.rstrip())[:c] + encode("\\n")
    prompt  = [BOS] + demo_1 + ... + demo_m + query
    """

    def __init__(self, tok, labels: Sequence[str], bos: bool = False, max_sample_tokens: int = 256,
                 max_seq_len: int = 256):
        self.tok = tok
        self.labels = list(labels)
        self.bos = bos
        self.max_sample_tokens = max_sample_tokens
        self.max_seq_len = max_seq_len
        self.sep = self.encode(IO_SEPARATOR)
        self.example_sep = self.encode(EXAMPLE_SEPARATOR)
        self.label_tokens = [self.encode(l) for l in self.labels]
        firsts = [t[0] if t else None for t in self.label_tokens]
        if None in firsts:
            raise ValueError(f"a label word has no tokens: {self.labels}")
        if len(set(firsts)) != len(firsts):
            raise ValueError(f"label words share a first token: {list(zip(self.labels, firsts))}")
        self.label_first_tokens = firsts
        self._cache: dict[str, list[int]] = {}

    def encode(self, piece: str) -> list[int]:
        return list(self.tok.encode(piece, add_special_tokens=False))

    def input_tokens(self, text: str) -> list[int]:
        t = text.rstrip()
        if t not in self._cache:
            self._cache[t] = self.encode(t)
        return self._cache[t]

    def bos_tokens(self) -> list[int]:
        return [self.tok.bos_token_id] if self.bos else []

    def cap(self, lengths: Sequence[int], budget: int) -> int:
        """Largest c <= max_sample_tokens with sum(min(len_i, c)) <= budget."""
        def total(c):
            return sum(min(n, c) for n in lengths)
        c = self.max_sample_tokens
        if total(c) <= budget:
            return c
        lo, hi = 0, c  # total(lo) <= budget is needed; total(hi) > budget
        if total(0) > budget:
            raise ValueError("episode does not fit")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if total(mid) <= budget:
                lo = mid
            else:
                hi = mid
        if lo == 0 and any(lengths):
            raise ValueError(f"an episode of {len(lengths)} samples does not fit the context of {self.max_seq_len}")
        return lo

    def build(self, demos: Sequence[tuple[str, int]], query_text: str) -> Prompt:
        inputs = [self.input_tokens(t) for t, _ in demos] + [self.input_tokens(query_text)]
        fixed = len(self.bos_tokens()) + len(self.sep) * (len(demos) + 1)
        fixed += sum(len(self.label_tokens[y]) + len(self.example_sep) for _, y in demos)
        c = self.cap([len(x) for x in inputs], self.max_seq_len - fixed)
        tokens = list(self.bos_tokens())
        io, cut = [], []
        for i, x in enumerate(inputs):
            kept = x[:c]
            cut.append(len(x) - len(kept))
            tokens += kept
            tokens += self.sep
            io.append(len(tokens) - 1)
            if i < len(demos):
                tokens += self.label_tokens[demos[i][1]]
                tokens += self.example_sep
        assert len(tokens) <= self.max_seq_len
        return Prompt(tokens, io, [y for _, y in demos], cut, inputs[-1][:c])

    def zero_shot(self, prompt: Prompt, position: str = "separator") -> tuple[list[int], int]:
        """B's prompt: the query's input tokens exactly as in the few-shot prompt, then the separator."""
        tokens = list(self.bos_tokens()) + list(prompt.query_input) + list(self.sep)
        if position == "separator":
            return tokens, len(tokens) - 1
        if position == "before-separator":
            return tokens, len(tokens) - 2
        raise ValueError(f"zero-shot position {position!r}")


# --------------------------------------------------------------------------------------------
# Model with hooks at the attention output projection
# --------------------------------------------------------------------------------------------

class Reference:
    def __init__(self, model_dir: Optional[os.PathLike] = None, threads: Optional[int] = None):
        from transformers import AutoTokenizer, LlamaForCausalLM

        if threads:
            torch.set_num_threads(threads)
        model_dir = Path(model_dir or default_model_dir()).expanduser()
        self.model_dir = model_dir
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                      attn_implementation="eager").eval()
        self.layers = self.model.model.layers
        self.n_layers = len(self.layers)
        self.d_model = self.model.config.hidden_size
        self._edits: list = [None] * self.n_layers    # per layer: (positions LongTensor, rows [p, d]) or None
        self._reads: Optional[list[int]] = None
        self._recorded: list = [None] * self.n_layers
        self._handles = [layer.self_attn.o_proj.register_forward_hook(self._hook(l))
                         for l, layer in enumerate(self.layers)]

    def _hook(self, l: int):
        def hook(module, inputs, output):
            edit = self._edits[l]
            if edit is not None:
                pos, rows = edit
                output[0, pos] += rows       # in place: the residual add and later layers see it
            if self._reads is not None:
                self._recorded[l] = output[0, self._reads].detach().clone()
            return output
        return hook

    @torch.no_grad()
    def forward(self, tokens: Sequence[int], edits=None, reads: Optional[Sequence[int]] = None,
                logit_positions: Optional[Sequence[int]] = None):
        """One forward pass. edits: per layer None or (positions, rows [len(positions), d]) to add.

        Returns (logits [len(logit_positions), vocab] or None, recorded [L, len(reads), d] or None).
        The final norm and the (tied) classifier are applied only at logit_positions.
        """
        if len(tokens) > self.model.config.max_position_embeddings:
            raise ValueError(f"prompt of {len(tokens)} tokens exceeds the context")
        self._edits = [None] * self.n_layers
        if edits is not None:
            for l, e in enumerate(edits):
                if e is None:
                    continue
                pos, rows = e
                pos = torch.as_tensor(list(pos), dtype=torch.long)
                rows = torch.as_tensor(rows, dtype=torch.float32)
                if len(set(pos.tolist())) != len(pos):
                    raise ValueError("duplicate edit positions")
                self._edits[l] = (pos, rows)
        self._reads = list(reads) if reads is not None else None
        self._recorded = [None] * self.n_layers
        try:
            out = self.model.model(input_ids=torch.tensor([list(tokens)], dtype=torch.long), use_cache=False)
        finally:
            self._edits = [None] * self.n_layers
            reads_done, self._reads = self._reads, None
        rec = torch.stack(self._recorded) if reads_done is not None else None
        logits = None
        if logit_positions is not None:
            # last_hidden_state is already after the final RMSNorm
            logits = self.model.lm_head(out.last_hidden_state[0, list(logit_positions)])
        return logits, rec


def injection(iv: torch.Tensor, prompt: Prompt, strength: float, n_classes: int, where: str = "all"):
    """Per-layer edits: strength * IV_l[y_i] at demonstration i's io position, strength * IV_l[n] at the query's."""
    pos, rows = [], []
    if where in ("all", "demos"):
        pos += prompt.io_positions[:-1]
        rows += prompt.demo_labels
    if where in ("all", "query"):
        pos.append(prompt.io_positions[-1])
        rows.append(n_classes)
    if not pos:
        return None
    return [(pos, strength * iv[l, rows]) for l in range(iv.shape[0])]


# --------------------------------------------------------------------------------------------
# Algorithm 1 and Algorithm 2
# --------------------------------------------------------------------------------------------

@dataclass
class Episode:
    demos: list[tuple[str, int]]     # (text, class) in prompt order
    query: tuple[str, int]


@dataclass
class ExtractionResult:
    iv: torch.Tensor                 # [L, n+1, d] float32
    prompts: list[Prompt] = field(default_factory=list)
    zero_shot: list[tuple[list[int], int]] = field(default_factory=list)
    refreshed_after: list[int] = field(default_factory=list)


def extract(ref: Reference, pb: PromptBuilder, episodes: Sequence[Episode], refresh_every: int = 10,
            strength: float = 0.3, zero_shot_position: str = "separator", progress=None) -> ExtractionResult:
    """Algorithm 1 on episodes whose prompts are built here."""
    prompts = [pb.build(ep.demos, ep.query[0]) for ep in episodes]
    zero_shots = [pb.zero_shot(p, zero_shot_position) for p in prompts]
    return extract_prompts(ref, len(pb.labels), prompts, zero_shots, refresh_every, strength, progress)


def extract_prompts(ref: Reference, n: int, prompts: Sequence[Prompt], zero_shots, refresh_every: int,
                    strength: float, progress=None) -> ExtractionResult:
    """Algorithm 1 on prompts built already: zero_shots[e] = (tokens, read position) of B's prompt."""
    E = len(prompts)
    if E == 0:
        raise ValueError("no episodes")
    iv = None
    total = torch.zeros(ref.n_layers, n + 1, ref.d_model, dtype=torch.float64)
    res = ExtractionResult(iv=None, prompts=list(prompts), zero_shot=list(zero_shots))
    for e, prompt in enumerate(prompts):
        edits = injection(iv, prompt, strength, n) if iv is not None else None
        _, A = ref.forward(prompt.tokens, edits, prompt.io_positions)          # [L, m+1, d], after the edits
        zs_tokens, zs_read = zero_shots[e]
        _, B = ref.forward(zs_tokens, None, [zs_read])                          # [L, 1, d], no edits
        D = (A - B).to(torch.float64)                                           # every row minus B
        V = torch.empty(ref.n_layers, n + 1, ref.d_model, dtype=torch.float64)
        labels = torch.tensor(prompt.demo_labels, dtype=torch.long)
        for c in range(n):
            sel = (labels == c).nonzero().flatten()
            if len(sel) == 0:
                raise ValueError(f"episode {e} has no demonstration of class {c}")
            V[:, c] = D[:, sel].mean(dim=1)
        V[:, n] = D[:, -1]
        total += V
        if (refresh_every > 0 and e % refresh_every == 0) or e == E - 1:
            iv = (total / (e + 1)).to(torch.float32)                            # mean over all episodes so far
            res.refreshed_after.append(e)
        if progress:
            progress(e)
    res.iv = iv
    return res


def evaluate_prompt(ref: Reference, prompt: Prompt, label_first_tokens: Sequence[int], iv: Optional[torch.Tensor],
                    strength: float, where: str = "all"):
    """Algorithm 2 on one prompt: returns (label logits [n], predicted class)."""
    n = len(label_first_tokens)
    edits = injection(iv, prompt, strength, n, where) if (iv is not None and strength != 0) else None
    logits, _ = ref.forward(prompt.tokens, edits, None, [prompt.io_positions[-1]])
    z = logits[0, list(label_first_tokens)]
    return z, int(torch.argmax(z))


def evaluate_episode(ref: Reference, pb: PromptBuilder, demos, query_text: str, iv: Optional[torch.Tensor],
                     strength: float, where: str = "all"):
    prompt = pb.build(demos, query_text)
    z, pred = evaluate_prompt(ref, prompt, pb.label_first_tokens, iv, strength, where)
    return prompt, z, pred


# --------------------------------------------------------------------------------------------
# Vectors on disk
# --------------------------------------------------------------------------------------------

def load_vectors(path: os.PathLike):
    """An `*.ivec.safetensors` (or this module's output): tensors blocks.{l}.attn_out -> [L, n+1, d], metadata."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        names = [k for k in f.keys() if k.startswith("blocks.") and k.endswith(".attn_out")]
        layers = sorted(int(k.split(".")[1]) for k in names)
        if layers != list(range(len(layers))) or not layers:
            raise ValueError(f"{path}: expected blocks.0..L-1.attn_out, got {sorted(names)}")
        iv = torch.stack([f.get_tensor(f"blocks.{l}.attn_out").to(torch.float32) for l in layers])
    parsed = {}
    for k, v in meta.items():
        try:
            parsed[k] = json.loads(v)
        except (TypeError, ValueError):
            parsed[k] = v
    return iv, parsed


def save_vectors(path: os.PathLike, iv: torch.Tensor, metadata: dict):
    """Write blocks.{l}.attn_out as a safetensors file, byte-deterministic (sorted header, layer order).

    Written by hand (the format: u64 LE header length, JSON header, raw little-endian data) because
    the safetensors package orders the metadata keys differently from run to run.
    """
    header: dict = {"__metadata__": {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True)
                                     for k, v in sorted(metadata.items())}}
    blobs, offset = [], 0
    for l in range(iv.shape[0]):
        a = np.ascontiguousarray(iv[l].detach().to(torch.float32).numpy(), dtype="<f4")
        b = a.tobytes()
        header[f"blocks.{l}.attn_out"] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


# --------------------------------------------------------------------------------------------
# Episodes sampled here (for use without the TypeScript side)
# --------------------------------------------------------------------------------------------

def read_jsonl(path: os.PathLike, labels: Optional[list[str]] = None):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                r = json.loads(line)
                rows.append({"line": line_no, "text": r["text"], "label": r["label"]})
    if labels is None:
        labels = sorted({r["label"] for r in rows}, key=str)
    index = {l: i for i, l in enumerate(labels)}
    for r in rows:
        r["label"] = index[r["label"]] if r["label"] in index else int(r["label"])
    return rows, labels


def sample_episodes(rows, n_classes: int, shots: int, count: int, seed: int) -> list[Episode]:
    """n-way k-shot: k rows per class without replacement, shuffled; query uniform, not in the support."""
    rng = random.Random(seed)
    by_class = [[i for i, r in enumerate(rows) if r["label"] == c] for c in range(n_classes)]
    out = []
    for _ in range(count):
        q = rng.randrange(len(rows))
        support = []
        for c in range(n_classes):
            pool = [i for i in by_class[c] if i != q]
            support += rng.sample(pool, shots)
        rng.shuffle(support)
        out.append(Episode([(rows[i]["text"], rows[i]["label"]) for i in support], (rows[q]["text"], rows[q]["label"])))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Iterative Vectors reference (PyTorch + transformers)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("extract", "eval"):
        p = sub.add_parser(name)
        p.add_argument("--model-dir", type=Path, default=None)
        p.add_argument("--dataset", type=Path, required=True, help="folder with train/validation/test.jsonl")
        p.add_argument("--labels", default=None, help="comma-separated label values in class order")
        p.add_argument("--episodes", type=int, default=200 if name == "extract" else 100)
        p.add_argument("--shots", type=int, default=4 if name == "extract" else 1)
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--bos", action="store_true")
        p.add_argument("--max-sample-tokens", type=int, default=256)
        if name == "extract":
            p.add_argument("--refresh-every", type=int, default=10)
            p.add_argument("--strength", type=float, default=0.3)
            p.add_argument("--zero-shot-position", choices=["separator", "before-separator"], default="separator")
            p.add_argument("--out", type=Path, required=True)
        else:
            p.add_argument("--vector", type=Path, default=None)
            p.add_argument("--strength", type=float, default=0.5)
            p.add_argument("--split", default="test")
            p.add_argument("--inject-at", choices=["all", "query", "demos"], default="all")
    a = ap.parse_args(argv)
    ref = Reference(a.model_dir)
    labels = a.labels.split(",") if a.labels else None
    split = "train" if a.cmd == "extract" else a.split
    rows, labels = read_jsonl(a.dataset / f"{split}.jsonl", labels)
    pb = PromptBuilder(ref.tok, labels, bos=a.bos, max_sample_tokens=a.max_sample_tokens,
                       max_seq_len=ref.model.config.max_position_embeddings)
    eps = sample_episodes(rows, len(labels), a.shots, a.episodes, a.seed)
    if a.cmd == "extract":
        r = extract(ref, pb, eps, a.refresh_every, a.strength, a.zero_shot_position)
        save_vectors(a.out, r.iv, {"labels": labels, "options": {"episodes": a.episodes, "shots": a.shots,
                     "refreshEvery": a.refresh_every, "strength": a.strength, "seed": a.seed,
                     "zeroShotPosition": a.zero_shot_position, "bos": a.bos}, "refreshedAfter": r.refreshed_after})
        print(json.dumps({"out": str(a.out), "norms": r.iv.norm(dim=-1).tolist()}))
    else:
        iv = load_vectors(a.vector)[0] if a.vector else None
        correct = 0
        for ep in eps:
            _, z, pred = evaluate_episode(ref, pb, ep.demos, ep.query[0], iv, a.strength, a.inject_at)
            correct += pred == ep.query[1]
        print(json.dumps({"episodes": len(eps), "accuracy": correct / len(eps)}))


if __name__ == "__main__":
    main()
