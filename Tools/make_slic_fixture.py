#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/slic_cases.npz: scikit-image 0.26's SLIC superpixels
(`skimage.segmentation.slic(image, ..., start_label=0)` on float64 images, channels last) for a few
images and settings: `{case}_image` (H, W, C) and `{case}_labels` (H, W, int64).

    pip install scikit-image==0.26.0 numpy
    python3 Tools/make_slic_fixture.py
"""
import os

import numpy as np
from skimage.segmentation import slic

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "slic_cases.npz")


def main():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:24, :20]
    smooth = np.stack([np.sin(yy / 4.0) + xx / 10.0, np.cos(xx / 3.0), (yy + xx) / 40.0], axis=-1)
    digits = np.load(os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference", "digits-cnn", "input.npy"))
    cases = {
        # (image, keyword arguments)
        "rgb_default": (smooth + 0.1 * rng.standard_normal(smooth.shape), {}),
        "rgb_k30_c5": (smooth + 0.05 * rng.standard_normal(smooth.shape), {"n_segments": 30, "compactness": 5.0}),
        "rgb_k12_nolab": (rng.random((17, 23, 3)), {"n_segments": 12, "compactness": 3.0, "convert2lab": False}),
        "gray_digit_default": (digits[0].transpose(1, 2, 0).astype(np.float64), {}),
        "gray_digit_k16_c01": (digits[1].transpose(1, 2, 0).astype(np.float64), {"n_segments": 16, "compactness": 0.1}),
        "two_channel_k9": (rng.random((11, 31, 2)), {"n_segments": 9, "compactness": 2.0, "max_num_iter": 4}),
        "rgb_k200_small_segments": (rng.random((16, 16, 3)), {"n_segments": 200, "compactness": 20.0}),
    }
    out = {}
    for name, (image, kwargs) in cases.items():
        labels = slic(image, start_label=0, **kwargs)
        out[name + "_image"] = image.astype(np.float64)
        out[name + "_labels"] = labels.astype(np.int64)
        print(name, image.shape, kwargs, "segments:", labels.max() + 1)
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
