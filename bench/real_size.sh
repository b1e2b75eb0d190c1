#!/usr/bin/env bash
# Proof at real size (not CI): a random checkpoint exactly as the Hub ships it, then
#   1. `lavender generate --dtype bf16 --max-new-tokens 1` on it, and
#   2. one Lavender step of `lavender train --lora --dtype bf16` (batch 1, a short reply,
#      ground-truth maps from the shapes world),
# each under /usr/bin/time: wall time, peak RSS, and lavender's own load line.
#   llava   LLaVA-1.5-7B as llava-hf ships it: the Hub's config.json, fp16, 3 shards + index,
#           transformers-4 key names, Llama 2's tokenizer.json and files, the CLIP preprocessor
#   mllama  Llama-3.2-11B-Vision-Instruct as meta-llama ships it: the Hub's config.json, bf16,
#           5 shards + index, Llama 3.2 Vision's tokenizer.json (<|image|> 128256), the Mllama
#           image processor (560-pixel tiles)
#
#   bench/real_size.sh llava|mllama [OUT_DIR]  (default /tmp/lavender-FAMILY; 14 / 21 GB of disk)
#   TEXT_LAYERS=4 bench/real_size.sh ...        a cut decoder (real widths), e.g. to rehearse
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY=${1:?usage: bench/real_size.sh llava|mllama [OUT_DIR]}
OUT=${2:-/tmp/lavender-$FAMILY}
SHARED=${LAVENDER_SHARED:-../shared}
case "$FAMILY" in
  llava) CONFIG=tests/data/hub-configs/llava-1.5-7b-hf/config.json SHARDS=3 TOKENIZER=llama2 ;;
  mllama) CONFIG=tests/data/hub-configs/Llama-3.2-11B-Vision-Instruct/config.json SHARDS=5
    TOKENIZER=llama3 ;;
  *) echo "unknown family $FAMILY (llava or mllama)" >&2; exit 2 ;;
esac
BUILD_TARGETS="lavender make_hub_checkpoint" scripts/build.sh > /dev/null
mkdir -p "$OUT"

if [ ! -f "$OUT/model/model.safetensors.index.json" ]; then
  layers=()
  if [ -n "${TEXT_LAYERS:-}" ]; then layers=(--text-layers "$TEXT_LAYERS"); fi
  build/bench/make_hub_checkpoint --config "$CONFIG" --out "$OUT/model" --shards "$SHARDS" \
    --tokenizer "$SHARED/data/$TOKENIZER" "${layers[@]}"
fi
build/lavender synth --out "$OUT/world" --quick --seed 0 > /dev/null
# One training sample with a short reply, and its image for generate.
head -n 1 "$OUT/world/train.jsonl" > "$OUT/one.jsonl"
image=$(grep -o '"image": *"[^"]*"' "$OUT/one.jsonl" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')

bytes=$(du -cb "$OUT"/model/*.safetensors | tail -n 1 | cut -f 1)
cat "$OUT"/model/*.safetensors > /dev/null  # page cache warm
start=$(date +%s.%N)
cat "$OUT"/model/*.safetensors > /dev/null
read_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "checkpoint: $bytes bytes; reading the files (page cache warm): ${read_s} s"

measure() {  # NAME COMMAND...: wall time, peak RSS, and lavender's load line
  local name=$1
  shift
  /usr/bin/time -v "$@" > "$OUT/$name.log" 2>&1 || { tail -n 20 "$OUT/$name.log"; exit 1; }
  local rss wall
  rss=$(grep 'Maximum resident' "$OUT/$name.log" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall' "$OUT/$name.log" | awk '{print $NF}')
  echo "$name: wall $wall, peak RSS $((rss / 1024)) MiB ($(echo "scale=2; $rss * 1024 / $bytes" | bc) x the checkpoint)"
  grep -h 'loaded ' "$OUT/$name.log" | sed 's/^/  /' || true
}

measure generate build/lavender generate --model "$OUT/model" --image "$OUT/world/$image" \
  --prompt "What shape is in the image?" --max-new-tokens 1 --dtype bf16
measure train-lora-step build/lavender train --model "$OUT/model" --data "$OUT/one.jsonl" \
  --images "$OUT/world" --maps "$OUT/world/truth/train" --out "$OUT/train" --lora --dtype bf16 \
  --batch-size 1 --max-steps 1 --save-every 1000 --figure-every 0 --lambda 10
grep -h 'step 1/1' "$OUT/train-lora-step.log" | sed 's/^/  /' || true
