#!/usr/bin/env python3
"""Adds Tests/Fixtures/shap/digits-cnn and digits-resnet: shap 0.51.0's Partition explainer with its Image masker
(`shap.explainers.Partition(f, shap.maskers.Image(mask, (16, 16, 1)))`) on the shared digits CNN
(model.onnx, input.npy, targets.npy, logits.npy copied from Tests/Fixtures/reference via
onnx2torch), explaining the logit of targets.npy (`outputs=[target]`), one image at a time (HWC),
the values transposed back to (N, C, H, W). Cases: mask value 0 with 500 and 3000 evaluations
(batch_size 10 and 50), the masker "blur(4,4)" and fixed_context 0. References in float64 from
the float32 weights, stored as float32. Also `deep_explainer_background`: shap's DeepExplainer
with the three reference inputs of `background.npy` (Tests/Fixtures/layer's baselines.npy: zeros,
the batch mean, the batch minimum), on digits-cnn (with its max pool) and digits-resnet.

    pip install torch==2.5.1 onnx onnx2torch shap==0.51.0 opencv-python-headless numpy
    python3 Tools/make_shap_image_fixtures.py
"""
import os

import numpy as np
import onnx2torch
import shap
import torch

import fixture_manifest

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
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


def deep_explainer(net, x, targets, background, dtype):
    values = np.asarray(shap.DeepExplainer(net, torch.from_numpy(background).to(dtype))
                        .shap_values(torch.from_numpy(x).to(dtype), check_additivity=False))        # (N, C, H, W, classes)
    return np.stack([values[i, ..., t] for i, t in enumerate(targets)]).astype(np.float64)


def main():
    for model in ("digits-cnn", "digits-resnet"):
        out = os.path.join(FIXTURES, "shap", model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(FIXTURES, "reference", model), out)
        background = np.load(os.path.join(FIXTURES, "layer", model, "baselines.npy"))
        np.save(os.path.join(out, "background.npy"), background)
        nets = {d: onnx2torch.convert(proto).to(d).eval() for d in (torch.float64, torch.float32)}
        ref, r32 = (deep_explainer(nets[d], x, targets, background, d) for d in (torch.float64, torch.float32))
        cases = [fixture_manifest.case(
            out, "deep_explainer_background", "reference", "SHAP DeepExplainer", "shap 0.51.0 (model via onnx2torch)",
            {"background": "background.npy"}, ref, r32, "the logit of targets.npy",
            "shap.DeepExplainer(model, background).shap_values(x): DeepLIFT (Rescale at ReLU, shap's max-pool rule) averaged over the "
            "3 background samples.")]
        if model == "digits-cnn":
            cases += partition_cases(out, nets, x, targets)
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "shap 0.51.0 in float64 from the float32 weights and inputs, stored as float32", cases)


def partition_cases(out, nets, x, targets):
    cases = []
    for cid, p in CASES:
        ref, r32 = (partition(nets[d], x, targets, p, d) for d in (torch.float64, torch.float32))
        cases.append(fixture_manifest.case(
            out, cid, "model_agnostic", "SHAP Partition image", "shap 0.51.0 (model via onnx2torch)", p, ref, r32,
            "the logit of targets.npy",
            "shap.explainers.Partition with shap.maskers.Image on each image (HWC); Owen values over the masker's box hierarchy."))
    return cases


if __name__ == "__main__":
    main()
