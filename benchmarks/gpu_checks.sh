#!/usr/bin/env bash
# Every GPU check of the rollout engine in one run, for a session lent a GPU (issue "Rollout engine"):
#   1. benchmarks/throughput.py: the CPU figures, then (CUDA present) rollouts at batch 512 .. 262,144 on the GPU,
#      the best 56-character token-steps/s (goal >= 1e8) and fit's training episodes/s, with the device's name;
#   2. configs/hello.yaml on the accelerator, 3 seeds: the update at which it solves (goal <= 20);
#   3. fit, test and predict of configs/debug.yaml under --trainer.precision bf16-mixed and 16-mixed.
# Writes JSON lines and logs under OUT (default: gpu_checks/). Run from the repository root:
#   OUT=/some/folder ACCELERATOR=gpu bash benchmarks/gpu_checks.sh        (ACCELERATOR=cpu QUICK=1: a dry run)
set -uo pipefail
out="${OUT:-gpu_checks}"
accelerator="${ACCELERATOR:-gpu}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
quick=()
[ -n "${QUICK:-}" ] && quick=(--quick)

python -c "import torch; print('cuda:', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')" \
  | tee "$out/device.txt"
python benchmarks/throughput.py "${quick[@]}" > "$out/throughput.jsonl" 2> "$out/throughput.log"
echo "throughput: exit $?"

work="$(mktemp -d)"
root="$PWD"
for seed in 0 1 2; do
  (cd "$work" && python "$root/train.py" fit --config "$root/configs/hello.yaml" --trainer.accelerator "$accelerator" \
     --seed_everything "$seed" --data.seed "$seed" --run_name "hello_seed$seed" 2>&1 | grep -o "run: .*") \
    | sed "s/^/hello seed $seed: /" | tee -a "$out/hello.txt"
done

for precision in bf16-mixed 16-mixed; do
  run="debug_$precision"
  common=(--config "$root/configs/debug.yaml" --trainer.accelerator "$accelerator" --trainer.precision "$precision")
  (cd "$work" \
    && python "$root/train.py" fit "${common[@]}" --run_name "$run" \
    && python "$root/train.py" test "${common[@]}" --ckpt_path "checkpoints/$run/last.ckpt" --run_name "$run" \
    && python "$root/train.py" predict "${common[@]}" --ckpt_path "checkpoints/$run/last.ckpt" --run_name "$run" \
         --data.predict_prompts '[""]' --search.method beam --search.output "$run.jsonl") > "$out/$run.log" 2>&1
  echo "precision $precision: fit, test and predict exit $?" | tee -a "$out/precision.txt"
done
rm -rf "$work"
