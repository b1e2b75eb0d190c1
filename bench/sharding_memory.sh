#!/usr/bin/env bash
# Per-rank memory of the sharding strategies (not CI): a random LLaVA-shaped checkpoint of 0.64 B
# parameters (CLIP ViT-L/14-336 frozen, a 4-layer 2048-wide Llama with the 32064 vocabulary:
# 0.34 B trainable), full fine-tuning in bf16 with fp32 master weights, batch 1 per rank, two
# Lavender steps; each configuration's peak RSS per rank while training (the trainer's own
# report, before the final model is saved: under full sharding rank 0 gathers the whole model
# for that) and over the whole process (/usr/bin/time), next to the plan's estimate
# (`lavender plan`, same options).
#
#   bench/sharding_memory.sh [OUT_DIR]   (default /tmp/lavender-sharding; ~1.3 GB of disk)
#   CONFIGS="full:2 full:4" bench/sharding_memory.sh   (some of the configurations only)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/lavender-sharding}
SHARED=${LAVENDER_SHARED:-../shared}
BUILD_TARGETS="lavender make_hub_checkpoint" scripts/build.sh > /dev/null
mkdir -p "$OUT"

if [ ! -f "$OUT/model/model.safetensors.index.json" ]; then
  cat > "$OUT/config.json" <<'JSON'
{
  "architectures": ["LlavaForConditionalGeneration"],
  "image_token_index": 32000, "model_type": "llava", "pad_token_id": 32001,
  "projector_hidden_act": "gelu", "tie_word_embeddings": false, "torch_dtype": "float16",
  "vision_feature_layer": -2, "vision_feature_select_strategy": "default", "vocab_size": 32064,
  "text_config": {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5504,
                  "num_hidden_layers": 4, "num_attention_heads": 16, "num_key_value_heads": 16,
                  "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "vocab_size": 32064},
  "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                    "model_type": "clip_vision_model", "num_attention_heads": 16,
                    "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768}
}
JSON
  build/bench/make_hub_checkpoint --config "$OUT/config.json" --out "$OUT/model" --shards 1 \
    --tokenizer "$SHARED/data/llama2" > /dev/null
fi
build/lavender synth --out "$OUT/world" --quick --seed 0 > /dev/null
head -n 8 "$OUT/world/train.jsonl" > "$OUT/data.jsonl"

common=(--model "$OUT/model" --data "$OUT/data.jsonl" --images "$OUT/world"
        --maps "$OUT/world/truth/train" --dtype bf16 --master-weights fp32 --freeze @vision
        --lambda 10 --batch-size 1 --max-steps 2 --save-every 1000 --figure-every 0 --threads 1)

run() {  # SHARDING WORLD: per-rank peak RSS, and the plan's total per rank
  local sharding=$1 world=$2 port=$((29500 + RANDOM % 1000)) pids=()
  rm -rf "$OUT/run-$sharding-$world"
  for ((r = 0; r < world; r++)); do
    WORLD_SIZE=$world RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port /usr/bin/time -v \
      build/lavender train "${common[@]}" --sharding "$sharding" --out "$OUT/run-$sharding-$world" \
      > "$OUT/$sharding-$world-rank$r.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local plan rss=()
  plan=$(build/lavender plan "${common[@]}" --sharding "$sharding" --world-size "$world" \
         --seq-len 64 | grep -i 'total' | head -n 1 | sed 's/^ *//')
  local training=()
  for ((r = 0; r < world; r++)); do
    local log="$OUT/$sharding-$world-rank$r.log"
    training+=("$(grep -o 'RSS [0-9]* MiB (training)' "$log" | awk '{print $2}')")
    rss+=("$(( $(grep 'Maximum resident' "$log" | awk '{print $NF}') / 1024 ))")
  done
  echo "$sharding x$world: peak RSS per rank while training ${training[*]} MiB," \
       "whole process ${rss[*]} MiB; plan: $plan"
}

configs=${CONFIGS:-"none:1 none:2 grad-op:1 grad-op:2 grad-op:4 full:1 full:2 full:4"}
for c in $configs; do run "${c%:*}" "${c#*:}"; done
