#!/usr/bin/env python3
"""Compare the TypeScript CLI's Iterative Vectors runs with the PyTorch reference on the same episodes.

    python reference/compare.py extraction --episodes E.json --vectors V.ivec.safetensors [--model-dir DIR]
    python reference/compare.py evaluation --episodes E.json --vectors V.ivec.safetensors --strength 0.5

E.json is what `iv extract|eval --episodes-out` writes (format iv-episodes/1). Every prompt is rebuilt
here from the episode's rows with the Hugging Face tokenizer and must equal the TypeScript one (token
ids, io positions, cuts, and for extraction the zero-shot prompts and their read positions). Then:

- extraction: Algorithm 1 with b, a1, zeroShotPosition read from the artifact's metadata; per layer
  the relative L2 error ||ref - ts|| / ||ref|| of the (n+1) x d matrix; required: max < 1e-4.
- evaluation: Algorithm 2 with the artifact's vectors and strength a2; predicted class per episode
  (required: >= 99.5% equal) and the label logits (max abs diff reported).

Exits 1 when a requirement fails (or the prompts differ), 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, str(Path(__file__).resolve().parent))
from iv_reference import (Prompt, PromptBuilder, Reference, evaluate_prompt, extract_prompts,  # noqa: E402
                          load_vectors)

REL_L2_MAX = 1e-4
AGREEMENT_MIN = 0.995


class BadInput(Exception):
    pass


def load_episodes(path: Path) -> dict:
    ej = json.loads(Path(path).read_text(encoding="utf-8"))
    if ej.get("format") != "iv-episodes/1":
        raise BadInput(f"{path}: format {ej.get('format')!r}, expected 'iv-episodes/1'")
    if ej.get("tokenization", "segments") != "segments":
        raise BadInput(f"{path}: tokenization {ej.get('tokenization')!r}; the reference builds the official "
                       "'segments' prompts only")
    return ej


def builder_for(ref: Reference, ej: dict) -> PromptBuilder:
    max_seq_len = ej.get("maxSeqLen", ref.model.config.max_position_embeddings)
    if max_seq_len != ref.model.config.max_position_embeddings:
        raise BadInput(f"maxSeqLen {max_seq_len} differs from the model's context "
                       f"{ref.model.config.max_position_embeddings}")
    return PromptBuilder(ref.tok, ej["labels"], bos=bool(ej.get("bos", False)),
                         max_sample_tokens=int(ej.get("maxSampleTokens", 256)), max_seq_len=max_seq_len)


def demos_of(ep: dict):
    return [(s["text"], int(s["label"])) for s in ep["support"]]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def describe_tokens(tok, ids, at, width=4):
    lo, hi = max(0, at - width), at + width + 1
    return f"[{lo}:{hi}] {ids[lo:hi]} {tok.convert_ids_to_tokens(ids[lo:hi])}"


def check_rows(ej: dict) -> dict:
    """The rows' text and label against the dataset file they came from (JSONL only; skipped otherwise)."""
    f = ej.get("file")
    if not f or not str(f).endswith(".jsonl") or not Path(f).exists():
        return {"checked": 0, "note": f"not checked (file {f!r})"}
    lines = Path(f).read_text(encoding="utf-8").split("\n")
    labels = ej["labels"]
    bad, n = [], 0
    for e, ep in enumerate(ej["episodes"]):
        for r in ep["support"] + [ep["query"]]:
            n += 1
            row = json.loads(lines[r["line"] - 1])
            if row.get("text") != r["text"] or str(row.get("label")) not in (labels[r["label"]], str(r["label"])):
                bad.append({"episode": e, "line": r["line"], "file": str(row.get("text"))[:50], "ts": r["text"][:50],
                            "fileLabel": row.get("label"), "tsLabel": r["label"]})
    # The official code uses the file's text with text.rstrip() only; a mismatch here (e.g. a leading
    # U+FEFF or leading spaces that the TS loader trims) means the TS prompt is not the official one.
    return {"checked": n, "mismatched": len(bad), "first": bad[:3]}


def check_prompts(pb: PromptBuilder, ej: dict, zero_shot_position=None):
    """Rebuild every prompt; returns (reference prompts, zero-shot prompts, list of mismatch descriptions)."""
    tok = pb.tok
    problems = []
    if list(ej.get("labelFirstTokens", pb.label_first_tokens)) != pb.label_first_tokens:
        problems.append(f"label first tokens: ts {ej['labelFirstTokens']} ref {pb.label_first_tokens} "
                        f"({tok.convert_ids_to_tokens(pb.label_first_tokens)})")
    prompts, zero_shots = [], []
    for e, ep in enumerate(ej["episodes"]):
        p = pb.build(demos_of(ep), ep["query"]["text"])
        prompts.append(p)
        if p.tokens != ep["tokens"]:
            i = first_difference(p.tokens, ep["tokens"])
            problems.append(f"episode {e}: token ids differ at {i} (ref {len(p.tokens)} tokens, ts {len(ep['tokens'])}): "
                            f"ref {describe_tokens(tok, p.tokens, i)} ts {describe_tokens(tok, ep['tokens'], i)}")
        if p.io_positions != ep["ioPositions"]:
            problems.append(f"episode {e}: io positions ref {p.io_positions} ts {ep['ioPositions']}")
        if "cut" in ep and p.cut != ep["cut"]:
            problems.append(f"episode {e}: cuts ref {p.cut} ts {ep['cut']}")
        if zero_shot_position is not None:
            zt, zr = pb.zero_shot(p, zero_shot_position)
            zero_shots.append((zt, zr))
            zs = ep.get("zeroShot")
            if zs is None:
                problems.append(f"episode {e}: no zeroShot prompt in the episodes file")
            else:
                if zt != zs["tokens"]:
                    i = first_difference(zt, zs["tokens"])
                    problems.append(f"episode {e}: zero-shot ids differ at {i}: ref {describe_tokens(tok, zt, i)} "
                                    f"ts {describe_tokens(tok, zs['tokens'], i)}")
                if zr != zs["readPosition"]:
                    problems.append(f"episode {e}: zero-shot read position ref {zr} ts {zs['readPosition']}")
    return prompts, zero_shots, problems


def ts_prompts(ej: dict):
    """The TypeScript side's prompts, as given in the episodes file."""
    out, zs = [], []
    for ep in ej["episodes"]:
        labels = [int(s["label"]) for s in ep["support"]]
        out.append(Prompt(list(ep["tokens"]), list(ep["ioPositions"]), labels, list(ep.get("cut", [])), []))
        if "zeroShot" in ep:
            zs.append((list(ep["zeroShot"]["tokens"]), int(ep["zeroShot"]["readPosition"])))
    return out, zs


def artifact_options(meta: dict) -> dict:
    iv = meta.get("iv")
    if not isinstance(iv, dict):
        raise BadInput("the vectors file has no 'iv' metadata (not an iv extract artifact)")
    return iv


def rel_l2(ref: torch.Tensor, ts: torch.Tensor) -> list[float]:
    ref64, ts64 = ref.to(torch.float64), ts.to(torch.float64)
    return [float((ref64[l] - ts64[l]).norm() / ref64[l].norm()) for l in range(ref.shape[0])]


def compare_extraction(ref: Reference, ej: dict, vectors: Path, use_ts_prompts: bool = False, log=print) -> dict:
    if ej.get("kind") != "extraction":
        raise BadInput(f"episodes file is of kind {ej.get('kind')!r}, expected 'extraction'")
    ts_iv, meta = load_vectors(vectors)
    md = artifact_options(meta)
    opts = md.get("options", {})
    if md.get("method") not in (None, "iterative-vectors"):
        raise BadInput(f"artifact method {md.get('method')!r}")
    if list(md.get("labels", ej["labels"])) != list(ej["labels"]):
        raise BadInput(f"artifact labels {md.get('labels')} differ from the episodes' {ej['labels']}")
    b = int(opts["refreshEvery"])
    a1 = float(opts["strength"])
    zpos = opts.get("zeroShotPosition", ej.get("zeroShotPosition", "separator"))
    if ej.get("zeroShotPosition", zpos) != zpos:
        raise BadInput(f"zeroShotPosition: artifact {zpos!r}, episodes {ej.get('zeroShotPosition')!r}")
    for key, value in (("bos", ej.get("bos")), ("maxSampleTokens", ej.get("maxSampleTokens")),
                       ("episodes", len(ej["episodes"]))):
        if key in opts and value is not None and opts[key] != value:
            raise BadInput(f"artifact option {key}={opts[key]!r} but the episodes file says {value!r}")
    pb = builder_for(ref, ej)
    prompts, zero_shots, problems = check_prompts(pb, ej, zpos)
    if use_ts_prompts:
        prompts, zero_shots = ts_prompts(ej)
    n = len(ej["labels"])
    if ts_iv.shape != (ref.n_layers, n + 1, ref.d_model):
        raise BadInput(f"artifact tensors {tuple(ts_iv.shape)}, expected {(ref.n_layers, n + 1, ref.d_model)}")
    log(f"extraction: {len(prompts)} episodes, b={b}, a1={a1}, zeroShotPosition={zpos}, bos={pb.bos}, "
        f"prompts from {'the TS file' if use_ts_prompts else 'the reference'}")
    res = extract_prompts(ref, n, prompts, zero_shots, b, a1)
    errs = rel_l2(res.iv, ts_iv)
    ts_refresh = [h.get("episode") for h in md.get("history", [])]
    report = {
        "kind": "extraction", "dataset": ej.get("dataset"), "episodes": len(prompts), "refreshEvery": b,
        "strength": a1, "zeroShotPosition": zpos, "bos": pb.bos, "labels": ej["labels"],
        "rows": check_rows(ej),
        "promptMismatches": len(problems), "promptProblems": problems[:20],
        "relL2PerLayer": errs, "maxRelL2": max(errs),
        "maxAbsDiff": float((res.iv - ts_iv).abs().max()),
        "refreshedAfter": res.refreshed_after, "tsRefreshedAfter": ts_refresh or None,
        "requirement": f"maxRelL2 < {REL_L2_MAX} and identical prompts",
    }
    report["pass"] = bool(report["maxRelL2"] < REL_L2_MAX and not problems)
    report["_iv"] = res.iv
    report["_prompts"] = res.prompts
    report["_zero_shots"] = res.zero_shot
    return report


def compare_evaluation(ref: Reference, ej: dict, vectors: Path, strength=None, use_ts_prompts: bool = False,
                       log=print) -> dict:
    if ej.get("kind") != "evaluation":
        raise BadInput(f"episodes file is of kind {ej.get('kind')!r}, expected 'evaluation'")
    iv, meta = load_vectors(vectors)
    md = meta.get("iv") if isinstance(meta.get("iv"), dict) else {}
    if md.get("labels") is not None and list(md["labels"]) != list(ej["labels"]):
        raise BadInput(f"artifact labels {md.get('labels')} differ from the episodes' {ej['labels']}")
    a2 = float(strength if strength is not None else ej.get("strength"))
    if ej.get("strength") is not None and abs(float(ej["strength"]) - a2) > 0:
        raise BadInput(f"--strength {a2} but the episodes file was run with strength {ej['strength']}")
    where = ej.get("injectAt") or "all"
    method = ej.get("method", "iv")
    if method != "iv":
        raise BadInput(f"method {method!r}: only Iterative Vectors evaluations are compared")
    pb = builder_for(ref, ej)
    prompts, _, problems = check_prompts(pb, ej, None)
    if use_ts_prompts:
        prompts, _ = ts_prompts(ej)
    log(f"evaluation: {len(prompts)} episodes, a2={a2}, injectAt={where}, shots={ej.get('shots')}, bos={pb.bos}, "
        f"split={ej.get('split')}, prompts from {'the TS file' if use_ts_prompts else 'the reference'}")
    same, diffs, ref_logits, ref_pred, correct_ref, correct_ts = 0, [], [], [], 0, 0
    for e, (p, ep) in enumerate(zip(prompts, ej["episodes"])):
        z, pred = evaluate_prompt(ref, p, pb.label_first_tokens, iv, a2, where)
        ts_z = torch.tensor(ep["labelLogits"], dtype=torch.float64)
        diffs.append(float((z.to(torch.float64) - ts_z).abs().max()))
        same += pred == int(ep["predicted"])
        ref_logits.append([float(x) for x in z])
        ref_pred.append(pred)
        gold = int(ep["query"]["label"])
        correct_ref += pred == gold
        correct_ts += int(ep["predicted"]) == gold
    N = len(prompts)
    report = {
        "kind": "evaluation", "dataset": ej.get("dataset"), "split": ej.get("split"), "episodes": N,
        "strength": a2, "injectAt": where, "shots": ej.get("shots"), "bos": pb.bos, "labels": ej["labels"],
        "rows": check_rows(ej),
        "promptMismatches": len(problems), "promptProblems": problems[:20],
        "predictionAgreement": same / N, "disagreements": [e for e in range(N) if ref_pred[e] != ej["episodes"][e]["predicted"]],
        "maxLogitAbsDiff": max(diffs), "meanLogitAbsDiff": sum(diffs) / N,
        "accuracyRef": correct_ref / N, "accuracyTs": correct_ts / N,
        "requirement": f"predictionAgreement >= {AGREEMENT_MIN} and identical prompts",
    }
    report["pass"] = bool(report["predictionAgreement"] >= AGREEMENT_MIN and not problems)
    report["_logits"] = ref_logits
    report["_pred"] = ref_pred
    report["_prompts"] = prompts
    return report


def compare_prompts_only(tok, ej: dict) -> dict:
    """Only the prompts (any kind and method): no model needed beyond its tokenizer and context."""
    class _Ref:  # the part of Reference that builder_for needs
        pass
    r = _Ref()
    r.tok = tok
    r.model = type("M", (), {"config": type("C", (), {"max_position_embeddings": ej.get("maxSeqLen", 256)})()})()
    pb = builder_for(r, ej)
    zpos = ej.get("zeroShotPosition") if ej.get("kind") == "extraction" else None
    _, _, problems = check_prompts(pb, ej, zpos)
    eps = ej["episodes"]
    report = {"kind": "prompts", "of": ej.get("kind"), "dataset": ej.get("dataset"), "episodes": len(eps),
              "bos": pb.bos, "labels": ej["labels"], "labelFirstTokens": pb.label_first_tokens,
              "rows": check_rows(ej), "promptMismatches": len(problems), "promptProblems": problems[:20],
              "tokensCompared": sum(len(e["tokens"]) for e in eps),
              "cutSamples": sum(1 for e in eps for c in e.get("cut", []) if c)}
    report["pass"] = not problems
    return report


def public(report: dict) -> dict:
    return {k: v for k, v in report.items() if not k.startswith("_")}


def print_summary(r: dict, out=sys.stdout):
    w = lambda s: print(s, file=out)
    w(f"== {r['kind']} {r.get('dataset')} ({r['episodes']} episodes) ==")
    rows = r["rows"]
    w(f"rows checked against the dataset file: {rows.get('checked')} "
      f"({rows.get('mismatched', 'n/a')} mismatched){' ' + rows['note'] if 'note' in rows else ''}")
    for b in rows.get("first", [])[:3]:
        w(f"  line {b['line']}: file {b['file']!r} label {b['fileLabel']!r}; episodes file {b['ts']!r} label {b['tsLabel']!r}")
    w(f"prompts identical to the TS ones: {'yes' if not r['promptMismatches'] else 'NO: %d problems' % r['promptMismatches']}")
    for p in r["promptProblems"][:10]:
        w(f"  {p}")
    if r["kind"] == "prompts":
        w(f"{r['tokensCompared']} token ids compared; samples cut to fit the context: {r['cutSamples']}; "
          f"label first tokens {r['labelFirstTokens']}")
    elif r["kind"] == "extraction":
        w("relative L2 per layer: " + ", ".join(f"{e:.2e}" for e in r["relL2PerLayer"]))
        w(f"max relative L2 {r['maxRelL2']:.3e} (required < {REL_L2_MAX:g}); max abs diff {r['maxAbsDiff']:.3e}")
        w(f"refreshed after episodes {r['refreshedAfter']} (TS history: {r['tsRefreshedAfter']})")
    else:
        w(f"prediction agreement {100 * r['predictionAgreement']:.2f}% (required >= {100 * AGREEMENT_MIN:g}%); "
          f"disagreeing episodes {r['disagreements'][:10]}")
        w(f"label logits: max abs diff {r['maxLogitAbsDiff']:.3e}, mean {r['meanLogitAbsDiff']:.3e}")
        w(f"accuracy ref {r['accuracyRef']:.3f}, ts {r['accuracyTs']:.3f}")
    w(f"RESULT: {'PASS' if r['pass'] else 'FAIL'}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prompts", help="check only the prompts of any episodes file (no forward passes)")
    p.add_argument("--episodes", type=Path, required=True)
    p.add_argument("--model-dir", type=Path, default=None, help="the converted HF folder (its tokenizer)")
    p.add_argument("--json", type=Path, default=None)
    for name in ("extraction", "evaluation"):
        p = sub.add_parser(name)
        p.add_argument("--episodes", type=Path, required=True, help="the --episodes-out JSON")
        p.add_argument("--vectors", type=Path, required=True, help="the *.ivec.safetensors artifact")
        p.add_argument("--model-dir", type=Path, default=None, help="the converted HF folder")
        p.add_argument("--ts-prompts", action="store_true",
                       help="run on the TS token ids instead of the reference's (to separate numerics from prompts)")
        p.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
        if name == "evaluation":
            p.add_argument("--strength", type=float, default=None, help="a2 (default: the episodes file's)")
    a = ap.parse_args(argv)
    try:
        ej = load_episodes(a.episodes)
        if a.cmd == "prompts":
            from transformers import AutoTokenizer
            from iv_reference import default_model_dir
            r = compare_prompts_only(AutoTokenizer.from_pretrained(a.model_dir or default_model_dir()), ej)
            print_summary(r)
            if a.json:
                a.json.write_text(json.dumps(public(r), indent=2) + "\n")
            return 0 if r["pass"] else 1
        ref = Reference(a.model_dir)
        log = lambda s: print(s, file=sys.stderr)
        if a.cmd == "extraction":
            r = compare_extraction(ref, ej, a.vectors, a.ts_prompts, log)
        else:
            r = compare_evaluation(ref, ej, a.vectors, a.strength, a.ts_prompts, log)
    except (BadInput, KeyError, FileNotFoundError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    print_summary(r)
    if a.json:
        a.json.write_text(json.dumps(public(r), indent=2) + "\n")
    return 0 if r["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
