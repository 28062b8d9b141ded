#!/usr/bin/env bash
# Runs THERE, on the GPU machine (after scripts/gpu-prepare.sh here, with .gpu carried): builds the addon like
# gpu-check.sh, then times every CUDA kernel of one bf16 forward of eva02_base_patch14_448 (batch 16) with Nsight
# Compute, ours and timm's, and writes per-kernel totals side by side: where our forward's time goes differently.
#
#   bash scripts/gpu-profile.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-}}"
[ -n "$out" ] || { echo "gpu-profile: name the output folder" >&2; exit 2; }
mkdir -p "$out"
exec > >(tee -a "$out/gpu-profile.log") 2>&1
FOLDTORCH_GPU_BUDGET_S=200 bash scripts/gpu-check.sh --build-only "$out" || exit 1
export PATH="$PWD/.gpu/bin:$PATH" FOLDTORCH_ADDON="$PWD/build/Release/foldtorch.node"
ncu_bin="$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null | head -1)"
[ -n "$ncu_bin" ] || { echo "gpu-profile: no ncu" >&2; exit 1; }
profile() {  # name, command...
  local name="$1"; shift
  timeout 75 "$ncu_bin" --target-processes all --metrics gpu__time_duration.sum --csv --log-file "$out/ncu-$name.csv" "$@" >/dev/null 2>"$out/ncu-$name.err" ||
    echo "gpu-profile: ncu $name ended early ($(tail -1 "$out/ncu-$name.err"))"
}
profile ours node -e "
const { createModel } = require('./dist/src/native/model');
(async () => {
  const model = await createModel('eva02_base_patch14_448', { numClasses: 2, imgSize: 448, device: 'cuda' });
  const images = require('crypto').randomFillSync(new Uint8Array(16 * 448 * 448 * 3));
  await model.forward(images, { shape: [16, 448, 448, 3], precision: 'bfloat16' });
})();"
profile timm python3 -c "
import torch, timm
m = timm.create_model('eva02_base_patch14_448', pretrained=False, num_classes=2).cuda().eval()
cfg = m.pretrained_cfg
mean = torch.tensor(cfg['mean'], device='cuda').view(1, 3, 1, 1); std = torch.tensor(cfg['std'], device='cuda').view(1, 3, 1, 1)
x = torch.randint(0, 255, (16, 448, 448, 3), dtype=torch.uint8)
with torch.inference_mode(), torch.autocast('cuda', dtype=torch.bfloat16):
    m(((x.cuda().permute(0, 3, 1, 2).float() / 255) - mean) / std).float().cpu()
"
python3 - "$out" <<'PY'
import csv, collections, sys, os
out = sys.argv[1]
def load(name):
    path = os.path.join(out, f"ncu-{name}.csv")
    if not os.path.exists(path): return {}
    rows = [l for l in open(path) if l.startswith('"')]
    totals = collections.defaultdict(lambda: [0, 0.0])
    for r in csv.DictReader(rows):
        if r.get("Metric Name") != "gpu__time_duration.sum": continue
        value = float(r["Metric Value"].replace(",", ""))
        scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3}.get(r.get("Metric Unit", "usecond"), 1.0)
        t = totals[r["Kernel Name"][:90]]; t[0] += 1; t[1] += value * scale
    return totals
with open(os.path.join(out, "kernels.txt"), "w") as f:
    for name in ("ours", "timm"):
        t = load(name); total = sum(v[1] for v in t.values())
        print(f"== {name}: {sum(v[0] for v in t.values())} kernels, {total / 1000:.2f} ms", file=f)
        for k, (n, us) in sorted(t.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"{us / 1000:9.3f} ms {n:5d}x  {k}", file=f)
print(open(os.path.join(out, "kernels.txt")).read())
PY
