"""Pillow + NumPy counterpart of bench/data.ts: decode, flips/rot90 (albumentations semantics), pack uint8 NHWC batches.

Usage: python data_pillow.py LIST_FILE SIZE BATCH SEED REPEATS  (LIST_FILE: one image path per line)
Prints one JSON line: {"images": n, "seconds": best, "img_per_s": rate}.
"""
import json
import sys
import time

import numpy as np
from PIL import Image


def plan(seed, epoch, index):
    # Same draws as foldtorch's planAugment: RandomState([seed, epoch, index]).
    rs = np.random.RandomState([seed, epoch, index])
    hflip = rs.random_sample() < 0.5
    vflip = rs.random_sample() < 0.5
    k = int(rs.randint(0, 4)) if rs.random_sample() < 0.5 else 0
    return hflip, vflip, k


def load(path, size, p):
    with Image.open(path) as im:
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            background = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(background, im)
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BICUBIC)
        a = np.asarray(im)
    hflip, vflip, k = p
    if hflip:
        a = a[:, ::-1]
    if vflip:
        a = a[::-1]
    if k:
        a = np.rot90(a, k)
    return a


def epoch(paths, size, batch, seed, number):
    for start in range(0, len(paths), batch):
        images = [load(paths[i], size, plan(seed, number, i)) for i in range(start, min(start + batch, len(paths)))]
        np.ascontiguousarray(np.stack(images))


def main():
    list_file, size, batch, seed, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    with open(list_file) as f:
        paths = [line.strip() for line in f if line.strip()]
    epoch(paths, size, batch, seed, 0)  # warm-up: file cache, imports
    best = float("inf")
    for r in range(repeats):
        t = time.perf_counter()
        epoch(paths, size, batch, seed, r + 1)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"images": len(paths), "seconds": best, "img_per_s": len(paths) / best}))


if __name__ == "__main__":
    main()
