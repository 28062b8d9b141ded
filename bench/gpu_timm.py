"""The GPU benchmark's Python side: the same model, batches and precisions as bench/gpu.ts, in timm + torch.

Reads our report (--plan, written by `node dist/bench/gpu.js`) for the model, its timm kwargs, the train
(precision, batch) pairs and the inference batch, and writes a report of the same format (kind "timm"), so
`node dist/bench/gpu.js --combine` can put the two side by side.

    python3 bench/gpu_timm.py --plan OURS.json --out TIMM.json [--dry-run] [--budget-s N]
"""
import argparse
import datetime
import json
import platform
import sys
import time

import torch
import torch.nn.functional as F

SCHEMA = "foldtorch.gpu-bench/1"
IMPORT_NOTES = []


def import_timm():
    """timm, also where torchvision is built for another torch (timm needs it only for optional features)."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass
    except Exception as error:  # noqa: BLE001 (any failure of a mismatched build)
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision"] = None  # makes timm's guarded imports raise ImportError
        IMPORT_NOTES.append(f"torchvision does not load here ({str(error).splitlines()[0]}); timm runs without it")
    import timm as module
    return module


timm = import_timm()


def make_optimizer(model, notes):
    """Ranger21 when the package is there (as ours), else AdamW: the machine may not have it."""
    try:
        from ranger21 import Ranger21  # noqa: WPS433 (optional dependency)
        return "Ranger21", Ranger21(model.parameters(), lr=1e-4, num_epochs=1, num_batches_per_epoch=10000)
    except ImportError:
        note = "ranger21 is not installed here: timm side uses torch.optim.AdamW (torch defaults), ours Ranger21"
        if note not in notes:
            notes.append(note)
        return "AdamW", torch.optim.AdamW(model.parameters(), lr=1e-4)


def host_batch(batch, size, seed):
    """Random uint8 NHWC pixels on the host (never zeros) and alternating labels, as bench/gpu.ts makes them."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, generator=generator)
    labels = torch.arange(batch) % 2
    return images, labels


def to_input(images, device, mean, std):
    """What our tensor bridge does: uint8 across the bus, then NCHW float normalised on the device."""
    x = images.to(device).permute(0, 3, 1, 2).float().div_(255)
    return x.sub_(mean).div_(std)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_bytes(device):
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else 0


def new_model(plan, device):
    kwargs = dict(plan["model"].get("timmKwargs", {}))
    model = timm.create_model(plan["model"]["name"], pretrained=False, num_classes=plan["model"]["numClasses"], **kwargs)
    model = model.to(device)
    cfg = model.pretrained_cfg
    mean = torch.tensor(cfg["mean"], device=device).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"], device=device).view(1, 3, 1, 1)
    return model, mean, std


def time_train(plan, device, precision, batch, setup, notes):
    """Warm-up steps, then timed steps; the loss is read every step (a sync), as our trainStep returns it."""
    model, mean, std = new_model(plan, device)
    model.train()
    name, optimizer = make_optimizer(model, notes)
    setup["optimizer"] = name
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if precision == "float16" else None
    images, labels = host_batch(batch, plan["model"]["imgSize"], batch)
    labels = labels.to(device)

    def step():
        x = to_input(images, device, mean, std)
        with torch.autocast(device_type=device.type, dtype=dtype):
            loss = F.cross_entropy(model(x), labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        return loss.item()

    for _ in range(plan["setup"]["warmup"]):
        loss = step()
    sync(device)
    reset_peak(device)
    iters = plan["setup"]["iters"]
    start = time.perf_counter()
    for _ in range(iters):
        loss = step()
    sync(device)
    seconds = time.perf_counter() - start
    img_per_sec = batch * iters / seconds
    peak = plan["peak"]["bf16Flops"]
    return {
        "precision": precision, "batch": batch, "batchKind": "fixed" if batch == plan["train"][0]["batch"] else "largest",
        "imgPerSec": img_per_sec, "stepMs": seconds * 1000 / iters, "peakMemoryBytes": peak_bytes(device),
        "mfu": img_per_sec * plan["model"]["trainFlopsPerImage"] / peak if peak else None, "lastLoss": float(loss),
    }


def dihedral_views():
    """The 8 distinct symmetries the deduplicated hflip,vflip,rot90 plan computes: flip or not × 4 rotations."""
    return [(flip, rot) for flip in (False, True) for rot in range(4)]


def time_inference(plan, device, batch, views):
    model, mean, std = new_model(plan, device)
    model.eval()
    images, _ = host_batch(batch, plan["model"]["imgSize"], 7)

    def call():
        with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            x = to_input(images, device, mean, std)
            outs = []
            for flip, rot in views:
                v = x.flip(3) if flip else x
                outs.append(model(torch.rot90(v, rot, dims=(2, 3)) if rot else v).float())
            return torch.stack(outs).cpu()

    for _ in range(plan["setup"]["warmup"]):
        call()
    sync(device)
    reset_peak(device)
    iters = plan["setup"]["iters"]
    start = time.perf_counter()
    for _ in range(iters):
        call()
    sync(device)
    seconds = time.perf_counter() - start
    return {"precision": "bfloat16", "batch": batch, "views": len(views), "imgPerSec": batch * iters / seconds,
            "peakMemoryBytes": peak_bytes(device)}


def describe(plan, device, dry_run):
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        card = {"name": props.name, "computeCapability": f"{props.major}.{props.minor}", "totalMemoryBytes": int(props.total_memory)}
    else:
        card = {"name": "cpu", "computeCapability": None, "totalMemoryBytes": None}
    model, _, _ = new_model(plan, device)
    parameters = sum(p.numel() for p in model.parameters())
    del model
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "schema": SCHEMA, "kind": "timm", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "dryRun": dry_run,
        "device": card,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                     "cudaRuntime": torch.version.cuda, "cudnn": str(cudnn) if cudnn else None},
        "model": {**plan["model"], "parameters": parameters},
        "peak": plan["peak"],
        "setup": {"optimizer": "", "loss": "cross_entropy", "channelsLast": False, "compile": False, "gradCheckpointing": False,
                  "warmup": plan["setup"]["warmup"], "iters": plan["setup"]["iters"], "syncPerStep": True,
                  "data": "random uint8 NHWC from the host each step (unpinned)",
                  "matmulTf32": bool(torch.backends.cuda.matmul.allow_tf32), "cudnnTf32": bool(torch.backends.cudnn.allow_tf32)},
        "train": [], "largestBatch": [], "inference": [], "notes": [],
    }


def run(plan, dry_run, budget_s):
    device = torch.device("cpu" if dry_run else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_timm: no CUDA device (use --dry-run on a CPU machine)")
    report = describe(plan, device, dry_run)
    notes = report["notes"]
    notes.extend(IMPORT_NOTES)
    notes.append("loss: F.cross_entropy (ours: complement cross entropy; the same cost to within a few elementwise ops)")
    started = time.perf_counter()
    for entry in plan["train"]:
        if time.perf_counter() - started > budget_s:
            notes.append(f"time budget spent: train {entry['precision']} batch {entry['batch']} not measured")
            continue
        try:
            record = time_train(plan, device, entry["precision"], entry["batch"], report["setup"], notes)
        except torch.cuda.OutOfMemoryError:
            notes.append(f"out of memory: train {entry['precision']} batch {entry['batch']}")
            torch.cuda.empty_cache()
            continue
        report["train"].append(record)
        print(f"timm train {record['precision']} batch {record['batch']}: {record['imgPerSec']:.1f} img/s", flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for entry in plan["inference"]:
        views = dihedral_views() if entry["views"] == 8 else [(False, 0)]
        record = time_inference(plan, device, entry["batch"], views)
        report["inference"].append(record)
        print(f"timm inference bf16 batch {record['batch']} x {record['views']} view(s): {record['imgPerSec']:.1f} img/s", flush=True)
    if not report["setup"]["optimizer"]:
        report["setup"]["optimizer"] = "none (no train step measured)"
    notes.append(f"wall time {time.perf_counter() - started:.1f} s")
    return report


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="our report (node dist/bench/gpu.js --out ...)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dry-run", action="store_true", help="tiny model on the CPU, as the plan's dry run")
    parser.add_argument("--budget-s", type=float, default=180.0)
    args = parser.parse_args(argv)
    with open(args.plan, encoding="utf8") as f:
        plan = json.load(f)
    if plan.get("schema") != SCHEMA or plan.get("kind") != "foldtorch":
        raise SystemExit(f"gpu_timm: {args.plan} is not a {SCHEMA} report of kind foldtorch")
    if plan["dryRun"] != args.dry_run:
        raise SystemExit(f"gpu_timm: the plan's dryRun is {plan['dryRun']} but --dry-run is {args.dry_run}")
    torch.manual_seed(0)
    report = run(plan, args.dry_run, args.budget_s)
    with open(args.out, "w", encoding="utf8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"gpu_timm: wrote {args.out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
