#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/faithfulness_cases.npz: Quantus 0.6.0's FaithfulnessEstimate,
Selectivity and RegionPerturbation on the shared digits CNN (Tests/Fixtures/reference/digits-cnn,
converted with onnx2torch, float32, logits: softmax=False) for its 4 inputs and targets, with an
attribution without ties (the reference gradient plus small Gaussian noise; one channel, as the
input). Each array is one case's per-sample scores (FaithfulnessEstimate) or curves (the others).

    pip install quantus==0.6.0 onnx2torch torch==2.5.1 numpy
    python3 Tools/make_faithfulness_fixture.py
"""
import os

import numpy as np
import onnx
import onnx2torch
import quantus
import torch

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
MODEL = os.path.join(ROOT, "reference", "digits-cnn")
OUT = os.path.join(ROOT, "arrays", "faithfulness_cases.npz")

# (case, metric class, constructor arguments)
CASES = [
    ("faithfulness_estimate_k8_black", quantus.FaithfulnessEstimate, {"features_in_step": 8}),
    ("faithfulness_estimate_k16_zero", quantus.FaithfulnessEstimate, {"features_in_step": 16, "perturb_baseline": 0.0}),
    ("faithfulness_estimate_k1_white", quantus.FaithfulnessEstimate, {"features_in_step": 1, "perturb_baseline": "white"}),
    ("selectivity_p4_black", quantus.Selectivity, {"patch_size": 4}),
    ("selectivity_p3_zero", quantus.Selectivity, {"patch_size": 3, "perturb_baseline": 0.0}),
    ("region_perturbation_p4_morf_r10_black", quantus.RegionPerturbation, {"patch_size": 4, "regions_evaluation": 10}),
    ("region_perturbation_p3_lerf_white", quantus.RegionPerturbation, {"patch_size": 3, "order": "lerf", "perturb_baseline": "white"}),
]


def main():
    torch.manual_seed(0)
    net = onnx2torch.convert(onnx.load(os.path.join(MODEL, "model.onnx"))).eval()
    x = np.load(os.path.join(MODEL, "input.npy")).astype(np.float32)
    y = np.load(os.path.join(MODEL, "targets.npy")).astype(np.int64)
    rng = np.random.default_rng(11)
    g = np.load(os.path.join(MODEL, "gradient.npy")).astype(np.float64)
    a = (g + 0.01 * np.abs(g).max() * rng.standard_normal(g.shape)).astype(np.float32)
    out = {"attributions": a, "targets": y}
    for name, cls, kwargs in CASES:
        metric = cls(**kwargs, disable_warnings=True, display_progressbar=False)
        scores = metric(model=net, x_batch=x.copy(), y_batch=y, a_batch=a.copy(), device="cpu", softmax=False, channel_first=True)
        out[name] = np.asarray(scores, dtype=np.float64)
        print(name, out[name].shape, np.round(out[name].reshape(len(y), -1)[:, :4], 4).tolist())
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
