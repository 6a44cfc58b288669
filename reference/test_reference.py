#!/usr/bin/env python3
"""Self-checks of the reference (plain asserts; no test framework needed).

    python reference/test_reference.py [--model-dir DIR]

Needs the converted model (reference/convert_stories15m.py). Prints 'N passed, N failed'.
"""
from __future__ import annotations

import argparse
import random
import sys
import traceback
from pathlib import Path

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, str(Path(__file__).resolve().parent))
from iv_reference import (Episode, PromptBuilder, Reference, default_model_dir, evaluate_prompt,  # noqa: E402
                          extract)

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


TEXTS = [
    "a stirring , funny and finally transporting re-imagining of beauty and the beast  ",
    "apparently reassembled from the cutting-room floor of any given daytime soap .",
    "Heidi", "Once upon a time\n", "x " * 300, "émigré naïve — “quoted” 🚀", "  leading spaces",
]


@test
def tokenizer_pieces(ref):
    enc = lambda s: ref.tok.encode(s, add_special_tokens=False)
    assert enc("\n") == [29871, 13]
    assert enc("\n\n\n") == [29871, 13, 13, 13]
    assert ref.tok.convert_ids_to_tokens(enc("positive")) == ["\u2581positive"]
    assert ref.tok.bos_token_id == 1 and ref.tok.eos_token_id == 2


@test
def cap_is_the_largest_that_fits(ref):
    pb = PromptBuilder(ref.tok, ["negative", "positive"], max_sample_tokens=256, max_seq_len=256)
    rng = random.Random(0)
    for _ in range(500):
        lengths = [rng.randrange(0, 300) for _ in range(rng.randrange(1, 12))]
        budget = rng.randrange(len(lengths), 600)
        c = pb.cap(lengths, budget)
        best = max(c2 for c2 in range(0, 257) if sum(min(n, c2) for n in lengths) <= budget)
        assert c == best, (lengths, budget, c, best)


@test
def prompt_layout(ref):
    for bos in (False, True):
        pb = PromptBuilder(ref.tok, ["negative", "positive"], bos=bos)
        demos = [(TEXTS[i], i % 2) for i in range(6)]
        p = pb.build(demos, TEXTS[6])
        assert len(p.tokens) <= 256 and len(p.io_positions) == 7
        assert (p.tokens[0] == 1) == bos
        for i, pos in enumerate(p.io_positions):
            assert p.tokens[pos - 1: pos + 1] == [29871, 13]
            if i < 6:
                assert p.tokens[pos + 1] == pb.label_first_tokens[demos[i][1]]
                assert p.tokens[pos + 2: pos + 6] == [29871, 13, 13, 13]
        assert p.io_positions[-1] == len(p.tokens) - 1
        assert sum(p.cut) > 0 and max(p.cut) == p.cut[4]  # the long one is cut most
        kept = [len(pb.input_tokens(t)) - c for (t, _), c in zip(demos + [(TEXTS[6], 0)], p.cut)]
        assert len(set(k for k, c in zip(kept, p.cut) if c)) == 1  # all cut to one length
        zt, zr = pb.zero_shot(p, "separator")
        assert zt[-2:] == [29871, 13] and zr == len(zt) - 1 and (zt[0] == 1) == bos
        assert zt[len(pb.bos_tokens()):-2] == p.tokens[p.io_positions[-2] + 6: p.io_positions[-1] - 1]
        assert pb.zero_shot(p, "before-separator")[1] == len(zt) - 2


@test
def hooks_read_and_edit(ref):
    pb = PromptBuilder(ref.tok, ["negative", "positive"])
    p = pb.build([(TEXTS[0], 1), (TEXTS[1], 0)], TEXTS[2])
    T = len(p.tokens)
    with torch.no_grad():
        plain = ref.model(torch.tensor([p.tokens])).logits[0]
    l0, rec = ref.forward(p.tokens, None, p.io_positions, list(range(T)))
    assert (l0 - plain).abs().max() < 1e-4
    zero = [(p.io_positions, torch.zeros(len(p.io_positions), ref.d_model))] * ref.n_layers
    l1, rec1 = ref.forward(p.tokens, zero, p.io_positions, list(range(T)))
    assert torch.equal(l1, l0) and torch.equal(rec1, rec)
    v = torch.randn(ref.d_model, generator=torch.Generator().manual_seed(0))
    edits = [None] * ref.n_layers
    edits[2] = ([p.io_positions[0]], v[None])
    l2, rec2 = ref.forward(p.tokens, edits, p.io_positions, list(range(T)))
    assert torch.equal(rec2[:2], rec[:2])                                   # earlier layers untouched
    assert (rec2[2, 0] - rec[2, 0] - v).abs().max() < 1e-5                  # recorded after the edit
    assert torch.equal(rec2[2, 1:], rec[2, 1:])                             # other positions, same layer
    assert (rec2[3:, 1:] - rec[3:, 1:]).abs().max() > 1e-3                  # later layers see it
    assert torch.equal(l2[: p.io_positions[0]], l0[: p.io_positions[0]])   # causal: earlier positions untouched


def small_episodes(n=5, k=2, seed=0):
    rng = random.Random(seed)
    pool = [(t, i % 2) for i, t in enumerate(TEXTS[:4] * 3)]
    out = []
    for _ in range(n):
        demos = [x for c in range(2) for x in rng.sample([p for p in pool if p[1] == c], k)]
        rng.shuffle(demos)
        out.append(Episode(demos, rng.choice(pool)))
    return out


@test
def refresh_schedule_and_iteration(ref):
    pb = PromptBuilder(ref.tok, ["negative", "positive"])
    eps = small_episodes(6)
    r = extract(ref, pb, eps, refresh_every=2, strength=0.3)
    assert r.refreshed_after == [0, 2, 4, 5]
    # b = 0: no vectors exist before the last episode, so a1 has no effect
    r0 = extract(ref, pb, eps, refresh_every=0, strength=0.3)
    r0b = extract(ref, pb, eps, refresh_every=3, strength=0.0)
    assert r0.refreshed_after == [5]
    assert (r0.iv - r0b.iv).abs().max() < 1e-6
    assert (r.iv - r0.iv).abs().max() > 1e-4            # iteration changes the estimate
    # the first episode runs without edits; its V is the whole estimate for E = 1
    r1 = extract(ref, pb, eps[:1], refresh_every=10, strength=0.9)
    r1b = extract(ref, pb, eps[:1], refresh_every=10, strength=0.0)
    assert torch.equal(r1.iv, r1b.iv)
    assert r.iv.shape == (ref.n_layers, 3, ref.d_model) and r.iv.dtype == torch.float32


@test
def class_rows_are_means(ref):
    pb = PromptBuilder(ref.tok, ["negative", "positive"])
    ep = small_episodes(1, k=2, seed=3)[0]
    r = extract(ref, pb, [ep], refresh_every=0, strength=0.0)
    p = r.prompts[0]
    _, A = ref.forward(p.tokens, None, p.io_positions)
    zt, zr = r.zero_shot[0]
    _, B = ref.forward(zt, None, [zr])
    D = A - B
    for c in range(2):
        idx = [i for i, y in enumerate(p.demo_labels) if y == c]
        assert (r.iv[:, c] - D[:, idx].mean(1)).abs().max() < 1e-5
    assert (r.iv[:, 2] - D[:, -1]).abs().max() < 1e-6


@test
def evaluation_strength_zero_is_plain_icl(ref):
    pb = PromptBuilder(ref.tok, ["negative", "positive"])
    eps = small_episodes(3)
    iv = extract(ref, pb, eps, refresh_every=1, strength=0.3).iv
    p = pb.build(eps[0].demos, eps[0].query[0])
    z0, _ = evaluate_prompt(ref, p, pb.label_first_tokens, iv, 0.0)
    with torch.no_grad():
        plain = ref.model(torch.tensor([p.tokens])).logits[0, -1, pb.label_first_tokens]
    assert (z0 - plain).abs().max() < 1e-4
    z1, _ = evaluate_prompt(ref, p, pb.label_first_tokens, iv, 0.5)
    zq, _ = evaluate_prompt(ref, p, pb.label_first_tokens, iv, 0.5, "query")
    zd, _ = evaluate_prompt(ref, p, pb.label_first_tokens, iv, 0.5, "demos")
    assert len({tuple(z.tolist()) for z in (z0, z1, zq, zd)}) == 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", type=Path, default=None)
    a = ap.parse_args()
    ref = Reference(a.model_dir or default_model_dir())
    passed = failed = 0
    for fn in TESTS:
        try:
            fn(ref)
            passed += 1
            print(f"ok   {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
