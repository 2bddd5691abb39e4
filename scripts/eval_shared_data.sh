#!/usr/bin/env bash
# Evaluate one reward reasoner on every benchmark file in ../shared/data, whole files.
#   bash scripts/eval_shared_data.sh [MODEL] [OUT] [extra gram_rr.eval arguments ...]
#   bash scripts/eval_shared_data.sh smollm2-135m-instruct runs/eval-shared judge.max_new_tokens=64
#   bash scripts/eval_shared_data.sh runs/cpu-default/stages/reasoner-3/model runs/eval-r3 --votes 16
# Each benchmark writes OUT/<name>/{verdicts.jsonl,results.json,results.md,categories.png};
# re-running continues from the cached verdicts. Set LIMIT=N to judge only the first N
# records of each file (RM-Bench: prompts).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-smollm2-135m-instruct}"
out="${2:-runs/eval-shared}"
shift $(( $# < 2 ? $# : 2 ))
data="${GRAM_RR_SHARED_DATA:-../shared/data}"
python="${PYTHON:-.venv/bin/python}"
limit=()
[ -n "${LIMIT:-}" ] && limit=(--limit "$LIMIT")

run() {  # name benchmark files...
  local name="$1" benchmark="$2"
  shift 2
  echo "== $name"
  "$python" -m gram_rr.eval --model "$model" --benchmark "$benchmark" --data "$@" \
    --out "$out/$name" "${limit[@]}" "${extra[@]}"
}

extra=("$@")
run judgebench judgebench "$data/judgebench/judgebench_claude.jsonl"
run rmbench-chat rmbench "$data/rmbench/chat_filtered.json"
run rewardbench-chat-hard rewardbench "$data"/llmbar/LLMBar_*.json
run llmbar-processed pairs "$data"/llmbar/Processed_*.json
run pandalm pairs "$data/pandalm/testset-v1.json"
run hh-rlhf-harmless pairs "$data/hh_rlhf/harmless-base_test.jsonl.gz"
