#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/felzenszwalb_cases.npz: scikit-image 0.26's Felzenszwalb segmentation
and Google PAIR saliency 0.2.1's XRAI regions, for ExplainKit's own (Sources/Analyzers/Reference).

- `a_image` (3, 20, 24, smoothed Gaussian noise), `a_labels`: felzenszwalb(scale=50, sigma=0.8, min_size=10);
- `b_image` (1, 17, 15), `b_labels`: felzenszwalb(scale=20, sigma=0.5, min_size=5);
- `c_image` (1, 224, 224), PAIR's `_get_segments_felzenszwalb` (the image rescaled to [-1, 1], six
  scales, σ 0.8, minimum size 150, segments dilated by a disk of radius 5): `c_sizes` and `c_first`
  hold each region's pixel count and first pixel (row-major), in PAIR's order (the masks
  themselves would take megabytes);
- `d_mask` (30, 28) and `d_dilated`: skimage.morphology.dilation by disk(5);
- `e_image` (3, 16, 16) and `f_image` (1, 300, 40), PAIR's regions as for `c` (`e_sizes`, `e_first`,
  `f_sizes`, `f_first`): images of other sizes, resized to 224 × 224 by scikit-image (cubic
  splines; `f` shrinks its rows, with anti-aliasing, and stretches its columns) and back.

Random images in float64, so that no two edges weigh the same (scikit-image leaves ties unordered).

    pip install saliency scikit-image scipy numpy
    python3 Tools/make_xrai_segmentation_fixture.py
"""
import os

import numpy as np
from saliency.core.xrai import _get_segments_felzenszwalb
from scipy import ndimage
from skimage.morphology import dilation, disk
from skimage.segmentation import felzenszwalb

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "felzenszwalb_cases.npz")


def main():
    rng = np.random.default_rng(21)
    a = ndimage.gaussian_filter(rng.standard_normal((3, 20, 24)), sigma=(0, 1.5, 1.5))
    b = rng.uniform(0, 1, (1, 17, 15))
    c = ndimage.gaussian_filter(rng.standard_normal((1, 224, 224)), sigma=(0, 4, 4)).astype(np.float32)
    out = {
        "a_image": a, "a_labels": felzenszwalb(np.transpose(a, (1, 2, 0)), scale=50, sigma=0.8, min_size=10),
        "b_image": b, "b_labels": felzenszwalb(np.transpose(b, (1, 2, 0)), scale=20, sigma=0.5, min_size=5),
        "c_image": c,
    }
    masks = _get_segments_felzenszwalb(np.transpose(c, (1, 2, 0)))
    out["c_sizes"] = np.array([m.sum() for m in masks], dtype=np.int64)
    out["c_first"] = np.array([np.flatnonzero(m)[0] if m.any() else -1 for m in masks], dtype=np.int64)
    d = rng.uniform(0, 1, (30, 28)) > 0.97
    out["d_mask"], out["d_dilated"] = d, dilation(d, footprint=disk(5))
    out["e_image"] = ndimage.gaussian_filter(rng.standard_normal((3, 16, 16)), sigma=(0, 1, 1)).astype(np.float32)
    out["f_image"] = ndimage.gaussian_filter(rng.standard_normal((1, 300, 40)), sigma=(0, 5, 2)).astype(np.float32)
    for name in ("e", "f"):
        masks = _get_segments_felzenszwalb(np.transpose(out[name + "_image"], (1, 2, 0)))
        out[name + "_sizes"] = np.array([m.sum() for m in masks], dtype=np.int64)
        out[name + "_first"] = np.array([np.flatnonzero(m)[0] if m.any() else -1 for m in masks], dtype=np.int64)
    for k, v in out.items():
        print(k, v.shape, v.dtype, v.max() if v.dtype != bool else v.sum())
    np.savez(OUT, **out)   # ExplainKit reads uncompressed archives


if __name__ == "__main__":
    main()
