#!/usr/bin/env bash
# The GPU checks of the trainer (not CI; for a machine with an NVIDIA GPU and a CUDA build of
# PyTorch, such as the project's device machine). One run:
#   1. builds lavender against that PyTorch's LibTorch (build-cuda/), saying which C++ packages
#      are missing if any;
#   2. trains the tiny fixtures on the GPU unsharded and with --sharding grad-op and full, one
#      process (NCCL, world size 1) and two processes sharing the GPU (NCCL may refuse that: the
#      refusal is reported, not fatal), and compares their losses with the CPU's;
#   3. benchmarks training steps in bf16, batch 4 × ~640 tokens (576 image tokens), on a LLaVA
#      whose decoder has TinyLlama's shape (22 layers, 2048 wide, 32/4 heads, 5632 MLP, 32000
#      vocabulary) and CLIP ViT-L/14-336: SFT (--lambda 0) and Lavender (--lambda 10, the
#      default aligned layers), reporting step time, tokens/s, MFU (6 × parameters × tokens per
#      step against the GPU's dense bf16 peak, PEAK_TFLOPS, default 989 for an H100 SXM) and peak
#      CUDA memory; and the Lavender ÷ SFT ratios (goals: time ≤ 1.15, memory ≤ 1.10).
# Everything is written under OUT (default $OUT or /tmp/lavender-gpu); a summary goes to stdout
# and OUT/summary.txt.
#
#   bench/gpu_checks.sh            (about 10 minutes on an H100, most of it the build)
#   STEPS=8 PEAK_TFLOPS=989 bench/gpu_checks.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lavender-gpu}
SHARED=${LAVENDER_SHARED:-../shared}
STEPS=${STEPS:-8}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
mkdir -p "$OUT"
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

# 1. Build.
missing=()
for header in nlohmann/json.hpp unicode/uchar.h png.h jpeglib.h gtest/gtest.h benchmark/benchmark.h; do
  echo "#include <$header>" | c++ -fsyntax-only -x c++ - 2> /dev/null || missing+=("$header")
done
[ ${#missing[@]} -eq 0 ] || summary "missing C++ headers: ${missing[*]} (scripts/setup.sh installs them)"
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || { summary "no PyTorch"; exit 1; }
summary "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)')," \
        "$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -n 1)"
if ! BUILD_DIR=build-cuda BUILD_TARGETS="lavender make_hub_checkpoint" \
     scripts/build.sh -DCMAKE_PREFIX_PATH="$prefix" -DLAVENDER_BUILD_TESTS=OFF > "$OUT/build.log" 2>&1; then
  summary "build failed: tail of $OUT/build.log:"; tail -n 30 "$OUT/build.log"; exit 1
fi
LAV=build-cuda/lavender

# 2. The tiny fixtures on the GPU: each configuration's per-step losses against the CPU's.
world=$OUT/world
$LAV synth --out "$world" --quick --seed 0 > /dev/null
head -n 8 "$world/train.jsonl" > "$OUT/data.jsonl"
tiny() {  # NAME DEVICE WORLD EXTRA...: trains the tiny LLaVA, 5 steps
  local name=$1 device=$2 n=$3; shift 3
  local port=$((29500 + RANDOM % 1000)) pids=() rc=0
  rm -rf "$OUT/$name"
  for ((r = 0; r < n; r++)); do
    WORLD_SIZE=$n RANK=$r LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      $LAV train --model "$SHARED/fixtures/hf-tiny/llava" --data "$OUT/data.jsonl" \
      --images "$world" --maps "$world/truth/train" --map-size 16 --max-steps 5 --lr 1e-4 \
      --warmup-steps 2 --adam-eps 1e-6 --freeze '' --figure-every 0 --batch-size $((4 / n)) \
      --device "$device" --out "$OUT/$name" "$@" > "$OUT/$name-rank$r.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}
compare() {  # A B: the largest relative difference of the logged losses
  python3 - "$OUT/$1/metrics.jsonl" "$OUT/$2/metrics.jsonl" << 'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
worst = max(abs(x[k] - y[k]) / max(1.0, abs(x[k])) for x, y in zip(a, b)
            for k in ("total", "text", "attention"))
print(f"{len(a)} vs {len(b)} steps, largest relative loss difference {worst:.2e}")
PY
}
tiny cpu-none cpu 1 || summary "CPU reference run failed ($OUT/cpu-none-rank0.log)"
for config in "none 1" "grad-op 1" "full 1" "none 2" "grad-op 2" "full 2"; do
  set -- $config
  name="cuda-$1-$2"
  if tiny "$name" cuda "$2" --sharding "$1"; then
    summary "tiny LLaVA on the GPU, --sharding $1, $2 process(es): $(compare cpu-none "$name")"
  else
    summary "tiny LLaVA on the GPU, --sharding $1, $2 process(es): failed:" \
            "$(grep -h 'error' "$OUT/$name"-rank*.log | head -n 2)"
  fi
done

# 3. The benchmark model: a TinyLlama-shaped decoder behind CLIP ViT-L/14-336.
model=$OUT/llava-tinyllama
if [ ! -f "$model/config.json" ]; then
  cat > "$OUT/llava-tinyllama.json" << 'JSON'
{
  "architectures": ["LlavaForConditionalGeneration"],
  "image_token_index": 31999, "model_type": "llava", "pad_token_id": 0,
  "projector_hidden_act": "gelu", "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vision_feature_layer": -2, "vision_feature_select_strategy": "default", "vocab_size": 32000,
  "text_config": {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632,
                  "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
                  "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "vocab_size": 32000},
  "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                    "model_type": "clip_vision_model", "num_attention_heads": 16,
                    "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768}
}
JSON
  build-cuda/bench/make_hub_checkpoint --config "$OUT/llava-tinyllama.json" --out "$model" \
    --shards 1 --dtype bf16 --tokenizer "$SHARED/data/llama2" > /dev/null
fi
head -n 64 "$world/train.jsonl" > "$OUT/bench.jsonl"
params=$($LAV plan --model "$model" | awk '/^parameters/ {gsub(",", "", $2); print $2}')
step() {  # NAME EXTRA...: STEPS steps in bf16 at batch 4, one process
  rm -rf "$OUT/$1"
  local name=$1; shift
  $LAV train --model "$model" --data "$OUT/bench.jsonl" --images "$world" \
    --maps "$world/truth/train" --device cuda --dtype bf16 --batch-size 4 --max-tokens 640 \
    --max-steps "$STEPS" --save-every 100000 --figure-every 0 --freeze @vision \
    --out "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1
}
report() {  # NAME: mean step time after the first two, positions/s, MFU, peak CUDA memory
  python3 - "$OUT/$1" "$params" "$PEAK_TFLOPS" << 'PY'
import json, re, sys
out, params, peak = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]) * 1e12
steps = [json.loads(l) for l in open(out + "/metrics.jsonl")][2:]
t = sum(s["seconds"] for s in steps) / len(steps)
positions = sum(s["positions"] for s in steps) / len(steps)  # sequence tokens, images included
memory = re.findall(r"CUDA allocated (\d+) MiB", open(out + ".log").read())
print(f"{t * 1000:.1f} ms/step, {positions / t:.0f} tokens/s, "
      f"MFU {6 * params * positions / t / peak:.1%} (6 x all parameters x tokens),"
      f" peak CUDA {memory[-1] if memory else '?'} MiB")
PY
}
for arm in "sft --lambda 0" "lavender --lambda 10"; do
  set -- $arm
  name=bench-$1; shift
  if step "$name" "$@"; then summary "LLaVA-TinyLlama $name: $(report "$name")"
  else summary "LLaVA-TinyLlama $name failed: $(grep -h 'error' "$OUT/$name.log" | head -n 2)"; fi
done
ratio=$(python3 - "$OUT" << 'PY'
import json, re, sys
def figures(name):
    steps = [json.loads(l) for l in open(f"{sys.argv[1]}/{name}/metrics.jsonl")][2:]
    memory = re.findall(r"CUDA allocated (\d+) MiB", open(f"{sys.argv[1]}/{name}.log").read())
    return sum(s["seconds"] for s in steps) / len(steps), float(memory[-1]) if memory else float("nan")
(ts, ms), (tl, ml) = figures("bench-sft"), figures("bench-lavender")
print(f"Lavender / SFT: time {tl / ts:.2f} (goal <= 1.15), peak memory {ml / ms:.2f} (goal <= 1.10)")
PY
) && summary "$ratio"
summary "summary in $OUT/summary.txt"
