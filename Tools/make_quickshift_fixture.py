#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/quickshift_cases.npz: scikit-image 0.26's quickshift segmentation and
numpy's PCG64 generator (which quickshift draws its tie-breaking noise from), for ExplainKit's own
(`Quickshift`, `NumpyPCG64`).

- `pcg_raw_s42`, `pcg_raw_s7`: the first 8 raw 64-bit outputs of `np.random.PCG64(S)` (as two
  uint32 halves each, low first: npy has no uint64 here), `pcg_normal_s42`: the first 2 000 of
  `np.random.default_rng(42).normal(size=2000)`, `pcg_normal_s123456789`: 500 with seed 123456789;
- `a_image` (3, 48, 64, smoothed noise in [0, 1]), `a_labels`: quickshift(kernel_size=2,
  max_dist=200, ratio=0.2) — lime_image's max_dist and ratio, scikit-image's default seed 42;
  `a2_labels`: quickshift(kernel_size=4, max_dist=8, ratio=0.5);
- `b_image` (3, 20, 20, four flat colour blocks and a gradient: the noise breaks density ties),
  `b_labels`: quickshift(kernel_size=3, max_dist=6, ratio=0.5);
- `c_image` (3, 30, 26), `c_labels`: quickshift(kernel_size=2, max_dist=3, ratio=1,
  convert2lab=False, rng=7);
- `d_image` (1, 16, 16, a grey image: lime_image turns it into RGB with gray2rgb), `d_labels`:
  quickshift(gray2rgb(image), kernel_size=1.5, max_dist=200, ratio=0.2).

Images are stored as float32 (N = 1 batches, channels first); scikit-image segments their float64
values, channels last.

    pip install scikit-image scipy numpy
    python3 Tools/make_quickshift_fixture.py
"""
import os

import numpy as np
from scipy import ndimage
from skimage.color import gray2rgb
from skimage.segmentation import quickshift

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "quickshift_cases.npz")


def segments(image, **kwargs):
    hwc = np.moveaxis(image[0].astype(np.float64), 0, -1)
    if hwc.shape[-1] == 1:
        hwc = gray2rgb(hwc[..., 0])
    return quickshift(hwc, **kwargs).astype(np.int64)


def main():
    out = {}
    for seed in (42, 7):
        raw = np.array([np.random.PCG64(seed).random_raw(8)][0], dtype=np.uint64)
        out[f"pcg_raw_s{seed}"] = np.stack([(raw & 0xFFFFFFFF).astype(np.int64), (raw >> np.uint64(32)).astype(np.int64)], axis=1)
    out["pcg_normal_s42"] = np.random.default_rng(42).normal(size=2000)
    out["pcg_normal_s123456789"] = np.random.default_rng(123456789).normal(size=500)
    rng = np.random.RandomState(5)
    a = ndimage.gaussian_filter(rng.rand(3, 48, 64), (0, 2, 2))
    a = ((a - a.min()) / (a.max() - a.min()))[None].astype(np.float32)
    b = np.zeros((1, 3, 20, 20), np.float32)
    b[0, :, :10, :10] = np.array([0.9, 0.1, 0.1])[:, None, None]
    b[0, :, :10, 10:] = np.array([0.1, 0.8, 0.2])[:, None, None]
    b[0, :, 10:, :10] = np.array([0.2, 0.2, 0.7])[:, None, None]
    b[0, :, 10:, 10:] = np.linspace(0, 1, 10)[None, None, :]
    c = rng.rand(1, 3, 30, 26).astype(np.float32) * 2 - 0.5
    d = ndimage.gaussian_filter(rng.rand(1, 1, 16, 16), (0, 0, 1, 1)).astype(np.float32)
    out.update({"a_image": a, "a_labels": segments(a, kernel_size=2, max_dist=200, ratio=0.2),
                "a2_labels": segments(a, kernel_size=4, max_dist=8, ratio=0.5),
                "b_image": b, "b_labels": segments(b, kernel_size=3, max_dist=6, ratio=0.5),
                "c_image": c, "c_labels": segments(c, kernel_size=2, max_dist=3, ratio=1, convert2lab=False, rng=7),
                "d_image": d, "d_labels": segments(d, kernel_size=1.5, max_dist=200, ratio=0.2)})
    for k in ["a", "a2", "b", "c", "d"]:
        print(k, out[f"{k}_labels"].max() + 1, "segments")
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
