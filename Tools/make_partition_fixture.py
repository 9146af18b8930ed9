#!/usr/bin/env python3
"""Adds Tests/Fixtures/shap/digits-cnn: shap 0.51.0's Partition explainer with its Image masker
(`shap.explainers.Partition(f, shap.maskers.Image(mask, (16, 16, 1)))`) on the shared digits CNN
(model.onnx, input.npy, targets.npy, logits.npy copied from Tests/Fixtures/reference via
onnx2torch), explaining the logit of targets.npy (`outputs=[target]`), one image at a time (HWC),
the values transposed back to (N, C, H, W). Cases: mask value 0 with 500 and 3000 evaluations
(batch_size 10 and 50), the masker "blur(4,4)" and fixed_context 0. References in float64 from
the float32 weights, stored as float32.

    pip install torch==2.5.1 onnx onnx2torch shap==0.51.0 opencv-python-headless numpy
    python3 Tools/make_partition_fixture.py
"""
import os

import numpy as np
import onnx2torch
import shap
import torch

import fixture_manifest

SRC = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference", "digits-cnn")
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "shap", "digits-cnn")
CASES = [("partition_mask0_500", {"mask": "0", "max_evals": 500, "batch_size": 10, "fixed_context": "none"}),
         ("partition_mask0_3000_b50", {"mask": "0", "max_evals": 3000, "batch_size": 50, "fixed_context": "none"}),
         ("partition_blur4_800", {"mask": "blur(4,4)", "max_evals": 800, "batch_size": 10, "fixed_context": "none"}),
         ("partition_fixed0_400", {"mask": "0", "max_evals": 400, "batch_size": 10, "fixed_context": "0"})]


def partition(net, x, targets, p, dtype):
    def f(batch):
        t = torch.from_numpy(np.asarray(batch)).to(dtype).permute(0, 3, 1, 2)
        with torch.no_grad():
            return net(t).double().numpy()
    mask = p["mask"] if p["mask"].startswith("blur") else float(p["mask"])
    masker = shap.maskers.Image(mask, (16, 16, 1))
    explainer = shap.explainers.Partition(f, masker)
    context = None if p["fixed_context"] == "none" else int(p["fixed_context"])
    out = []
    for image, t in zip(x, targets):
        np.random.seed(0)
        hwc = np.transpose(image, (1, 2, 0))[None].astype(np.float64 if dtype == torch.float64 else np.float32)
        e = explainer(hwc, max_evals=p["max_evals"], batch_size=p["batch_size"], outputs=[int(t)], fixed_context=context, silent=True)
        out.append(np.transpose(e.values[0, :, :, :, 0], (2, 0, 1)))
    return np.stack(out).astype(np.float64)


def main():
    proto, x, targets = fixture_manifest.copy_shared(SRC, OUT)
    nets = {d: onnx2torch.convert(proto).to(d).eval() for d in (torch.float64, torch.float32)}
    cases = []
    for cid, p in CASES:
        ref, r32 = (partition(nets[d], x, targets, p, d) for d in (torch.float64, torch.float32))
        cases.append(fixture_manifest.case(
            OUT, cid, "model_agnostic", "SHAP Partition image", "shap 0.51.0 (model via onnx2torch)", p, ref, r32,
            "the logit of targets.npy",
            "shap.explainers.Partition with shap.maskers.Image on each image (HWC); Owen values over the masker's box hierarchy."))
    fixture_manifest.write(OUT, "digits-cnn", "copied from the shared set (digits-cnn)",
                           "shap 0.51.0 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
