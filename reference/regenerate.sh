#!/usr/bin/env bash
# Regenerate everything the PyTorch reference produces (reference/README.md):
#   1. a Python venv from reference/requirements.txt (or use $IV_REF_PYTHON, an interpreter that has them),
#   2. the TS CLI build and the stories15M checkpoint (fetched by the CLI on first use),
#   3. the Hugging Face conversion of stories15M (checked: greedy decoding, tokenizer vs tokenizer.bin),
#   4. the goldens under test/goldens/reference/ (and the agreement with the TS CLI on the same episodes).
# Nothing here writes outside the repo's test/goldens/reference/ except caches:
#   $IV_REF_CACHE (default ~/.cache/iv-reference): venv, llama.cpp vocabulary, converted model.
# Usage: bash reference/regenerate.sh        (exit status non-zero if a check or an agreement fails)
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
CACHE="${IV_REF_CACHE:-$HOME/.cache/iv-reference}"
export IV_REF_CACHE="$CACHE"
mkdir -p "$CACHE"

if [ -n "${IV_REF_PYTHON:-}" ]; then
  PY="$IV_REF_PYTHON"
else
  VENV="$CACHE/venv"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r reference/requirements.txt
  PY="$VENV/bin/python"
fi
echo "python: $PY" >&2

npm run --silent build
# the CLI fetches (once) and caches the llama2.c checkpoint; this also checks it runs
node dist/cli.js generate "Once upon a time" --max-new-tokens 8 > /dev/null

"$PY" reference/convert_stories15m.py --out "$CACHE/stories15M-hf" > "$CACHE/conversion.log"
echo "converted: $CACHE/stories15M-hf (report: $CACHE/stories15M-hf/conversion.json)" >&2
"$PY" reference/goldens.py --model-dir "$CACHE/stories15M-hf" --work "$CACHE/goldens-work"
