#!/usr/bin/env python3
"""Regenerate the reference goldens under test/goldens/reference/<dataset>/.

For each dataset it runs the TypeScript CLI (an Iterative Vectors extraction of 20 train episodes
and an evaluation of 100 one-shot test episodes at a2 = 0.5, both with --episodes-out), runs the
PyTorch reference on the same episodes (compare.py's checks: identical prompts, vectors, predictions,
logits), and writes small golden files computed by the reference alone:

    extraction.json      the 20 episodes: rows, reference token ids, io positions, cuts, zero-shot prompts
    vectors.safetensors  the reference's Iterative Vectors, blocks.{l}.attn_out, [(n+1), d] float32
    evaluation.json      the 100 episodes: rows, reference token ids, io positions, and the reference's
                         label logits and predictions with the reference's own vectors (vectors.safetensors)
    agreement.json       the measured agreement with the TypeScript run (vectors, predictions, logits)

Usage: python reference/goldens.py [--model-dir DIR] [--out test/goldens/reference] [--work DIR]
Exits 1 if any comparison fails its requirement (the goldens are still written, for inspection).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, str(HERE))
from compare import (compare_evaluation, compare_extraction, load_episodes, print_summary, public,  # noqa: E402
                     builder_for)
from iv_reference import Reference, default_model_dir, evaluate_prompt, save_vectors  # noqa: E402

EXTRACT_EPISODES = 20
EVAL_EPISODES = 100

# name -> (--dataset value, extra CLI flags shared by extract and eval)
DATASETS = {
    "sst2": ("../shared/datasets/sst2", []),
    # as the CLI's demo runs it: label words she/he, prompts start with BOS
    "first-names": ("stdlib:first-names", ["--label-words", "female=she,male=he", "--bos"]),
}


def run(cmd, cwd):
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def rows(ep):
    return {"support": ep["support"], "query": ep["query"]}


def f32(x) -> float:
    return float(torch.tensor(float(x), dtype=torch.float32))


def dump(path: Path, obj):
    path.write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")


def git_head() -> dict:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, check=True,
                                    capture_output=True, text=True).stdout.strip())
        return {"commit": head, "srcDirty": dirty}
    except Exception:  # not a git checkout
        return {}


def model_info(ref: Reference) -> dict:
    conv = ref.model_dir / "conversion.json"
    info = {"name": "stories15M", "nLayers": ref.n_layers, "dModel": ref.d_model}
    if conv.exists():
        c = json.loads(conv.read_text())
        info["llama2cSha256"] = c.get("checkpoint_sha256")
        info["tokenizer"] = c.get("tokenizer_source")
    return info


def one_dataset(ref: Reference, name: str, dataset: str, extra: list, out: Path, work: Path, cli: Path) -> list:
    vec_ts = work / f"{name}.ivec.safetensors"
    ext_json = work / f"{name}.extract.json"
    ev_json = work / f"{name}.eval.json"
    ext_cmd = ["node", str(cli), "extract", "--dataset", dataset, *extra, "--episodes", str(EXTRACT_EPISODES),
               "--out", str(vec_ts), "--episodes-out", str(ext_json), "--json"]
    ev_cmd = ["node", str(cli), "eval", "--dataset", dataset, *extra, "--method", "iv", "--vector", str(vec_ts),
              "--episodes", str(EVAL_EPISODES), "--shots", "1", "--strength", "0.5", "--split", "test",
              "--episodes-out", str(ev_json), "--json"]
    run(ext_cmd, REPO)
    run(ev_cmd, REPO)

    log = lambda s: print(s, file=sys.stderr)
    ext = load_episodes(ext_json)
    rx = compare_extraction(ref, ext, vec_ts, log=log)
    print_summary(rx)
    ev = load_episodes(ev_json)
    re_ = compare_evaluation(ref, ev, vec_ts, 0.5, log=log)
    print_summary(re_)

    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    iv = rx["_iv"]
    pb = builder_for(ref, ext)
    minfo = model_info(ref)

    # extraction.json: the episodes with the reference's prompts
    header = {k: ext[k] for k in ("dataset", "datasetSha256", "split", "labels", "tokenization", "bos",
                                   "maxSampleTokens", "maxSeqLen", "shots", "seed", "zeroShotPosition") if k in ext}
    header.update({"refreshEvery": rx["refreshEvery"], "strength": rx["strength"], "episodeCount": rx["episodes"]})
    dump(d / "extraction.json", {
        "format": "iv-reference-golden/1", "kind": "extraction", **header,
        "labelFirstTokens": pb.label_first_tokens, "model": minfo,
        "episodes": [{**rows(ep), "tokens": p.tokens, "ioPositions": p.io_positions, "cut": p.cut,
                      "zeroShot": {"tokens": zs[0], "readPosition": zs[1]}}
                     for ep, p, zs in zip(ext["episodes"], rx["_prompts"], rx["_zero_shots"])],
    })

    # vectors.safetensors: the reference's vectors
    save_vectors(d / "vectors.safetensors", iv, {
        "format": "iv-reference-golden/1", "labels": ext["labels"], "rows": ext["labels"] + ["<query>"],
        "site": "attn_out (output of model.layers[l].self_attn.o_proj)",
        "options": {"episodes": rx["episodes"], "shots": ext.get("shots"), "refreshEvery": rx["refreshEvery"],
                    "strength": rx["strength"], "seed": ext.get("seed"), "zeroShotPosition": rx["zeroShotPosition"],
                    "bos": rx["bos"]},
        "source": f"reference/iv_reference.py on the episodes of {name}/extraction.json",
    })

    # evaluation.json: the reference's logits with the reference's vectors
    a2 = re_["strength"]
    eps = []
    for ep, p in zip(ev["episodes"], re_["_prompts"]):
        z, pred = evaluate_prompt(ref, p, pb.label_first_tokens, iv, a2, re_["injectAt"])
        eps.append({**rows(ep), "tokens": p.tokens, "ioPositions": p.io_positions, "cut": p.cut,
                    "labelLogits": [f32(x) for x in z], "predicted": pred})
    eh = {k: ev[k] for k in ("dataset", "datasetSha256", "split", "labels", "tokenization", "bos", "maxSampleTokens",
                             "maxSeqLen", "method", "shots", "seed", "demoOrder", "injectAt") if k in ev}
    dump(d / "evaluation.json", {
        "format": "iv-reference-golden/1", "kind": "evaluation", **eh, "strength": a2,
        "episodeCount": len(eps), "labelFirstTokens": pb.label_first_tokens, "model": minfo,
        "vector": "vectors.safetensors (the reference's own vectors)",
        "accuracy": sum(e["predicted"] == e["query"]["label"] for e in eps) / len(eps),
        "episodes": eps,
    })

    def tsv(p):
        for base in (work, REPO):
            if str(p).startswith(str(base) + "/"):
                return str(Path(p).relative_to(base))
        return str(p)
    agreement = {
        "dataset": name, "ts": git_head(),
        "commands": [" ".join(tsv(c) for c in ext_cmd), " ".join(tsv(c) for c in ev_cmd)],
        "extraction": {k: v for k, v in public(rx).items() if k not in ("labels",)},
        "evaluation": {k: v for k, v in public(re_).items() if k not in ("labels",)},
    }
    dump(d / "agreement.json", agreement)
    return [rx, re_]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "test" / "goldens" / "reference")
    ap.add_argument("--work", type=Path, default=None, help="where the TS outputs go (default: a temp folder)")
    ap.add_argument("--cli", type=Path, default=REPO / "dist" / "cli.js")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    a = ap.parse_args(argv)
    ref = Reference(a.model_dir or default_model_dir())
    tmp = None
    if a.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="iv-goldens-")
        a.work = Path(tmp.name)
    a.work.mkdir(parents=True, exist_ok=True)
    reports = []
    for name in a.datasets.split(","):
        dataset, extra = DATASETS[name]
        reports += one_dataset(ref, name, dataset, extra, a.out, a.work.resolve(), a.cli.resolve())
    total = sum(f.stat().st_size for f in a.out.rglob("*") if f.is_file())
    print(f"goldens: {a.out} ({total} bytes)")
    for r in reports:
        what = (f"max rel L2 {r['maxRelL2']:.3e}" if r["kind"] == "extraction"
                else f"agreement {100 * r['predictionAgreement']:.2f}%, max logit diff {r['maxLogitAbsDiff']:.3e}")
        print(f"  {r['dataset']} {r['kind']}: {what}: {'PASS' if r['pass'] else 'FAIL'}")
    return 0 if all(r["pass"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
