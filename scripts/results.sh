#!/usr/bin/env bash
# Sweep + test comparison of every method on the embedded model, for BENCHMARKS.md's results table.
# Usage: scripts/results.sh [name ...]   (default: all); JSON reports go to .iv/results/<name>.json.
# IV_GRID overrides the sweep flags (default: the paper's full grid with 200 validation episodes).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${IV_SHARED_DIR:-../shared}/datasets"
declare -A ARGS=(
  [sst2]="--dataset $SHARED/sst2"
  [sst5]="--dataset $SHARED/sst5"
  [trec]="--dataset $SHARED/trec"
  [emotion]="--dataset $SHARED/emotion"
  [tweet_eval_emotion]="--dataset $SHARED/tweet_eval_emotion"
  [tweet_eval_hate]="--dataset $SHARED/tweet_eval_hate"
  [tweet_eval_irony]="--dataset $SHARED/tweet_eval_irony"
  [tweet_eval_offensive]="--dataset $SHARED/tweet_eval_offensive"
  [mr]="--dataset $SHARED/mr"
  [subj]="--dataset $SHARED/subj"
  [cr]="--dataset $SHARED/cr"
  [sentiment-words]="--dataset stdlib:sentiment-words"
  [first-names]="--dataset stdlib:first-names --label-words female=she,male=he --bos"
)
# Not run: ag_news and tweet_eval_sentiment have no train split to extract from; tweet_eval_emoji's
# label words share first tokens ("face_with_tears_of_joy" / "face_blowing_a_kiss": "▁face"), which
# first-token scoring refuses.
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(sst2 first-names sst5 trec emotion tweet_eval_emotion tweet_eval_hate tweet_eval_irony tweet_eval_offensive mr subj cr sentiment-words)
GRID="${IV_GRID:---val-episodes 200}"
mkdir -p .iv/results
for name in "${names[@]}"; do
  echo "== $name" >&2
  # shellcheck disable=SC2086
  node dist/cli.js compare ${ARGS[$name]} --sweep $GRID --sweep-results ".iv/results/$name.sweep.jsonl" \
    --episodes "${IV_TEST_EPISODES:-2000}" --results ".iv/results/$name.json" --json > /dev/null
done
