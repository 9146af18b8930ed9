#!/usr/bin/env python3
"""Writes Tests/Fixtures/arrays/hog_cases.npz: maps and scikit-image's HOG features of them, to
check ExplainKit's HOG (Evaluation plugin) against skimage.feature.hog. Run once; the output is
committed and CI never needs scikit-image.

    pip install scikit-image numpy
    python3 Tools/make_hog_fixture.py
"""
import os

import numpy as np
from skimage.feature import hog

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "hog_cases.npz")
rng = np.random.default_rng(0)
# (height, width, orientations, pixels per cell, cells per block): skimage's defaults, and a small map.
CASES = [(24, 32, 9, 8, 3), (27, 35, 9, 8, 3), (20, 20, 6, 4, 2), (16, 16, 9, 4, 2)]
arrays = {}
for k, (h, w, o, c, b) in enumerate(CASES):
    m = rng.random((h, w))
    if k == 1:
        m[:, :12] = 0.5          # a flat region: empty histograms, the eps of the block norm
    if k == 3:
        m = np.round(m * 4) / 4  # ties in the orientations (exact multiples of 20 degrees and 0)
    arrays[f"map{k}"] = m
    arrays[f"hog{k}"] = hog(m, orientations=o, pixels_per_cell=(c, c), cells_per_block=(b, b), block_norm="L2-Hys")
    arrays[f"params{k}"] = np.array([h, w, o, c, b], dtype=np.int64)
np.savez(OUT, **arrays)
print("wrote", OUT, {k: v.shape for k, v in arrays.items() if k.startswith("hog")})
