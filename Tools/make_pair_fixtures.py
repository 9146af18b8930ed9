#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/pair: Google PAIR `saliency` 0.2.1's BlurIG and GuidedIG on the shared image
models (via onnx2torch; model.onnx, input.npy, targets.npy, logits.npy copied from ../reference), in
the shared set's format. PAIR works on one HWC image at a time; its call_model_function here returns
the gradient of the target logit (targets.npy) computed by PyTorch in float64. `batch_size=1`
(PAIR's default): with larger batches PAIR weights every step of a batch by the σ step of the
batch's last point, which changes the result on the square-root path. References are
computed in float64 from the float32 weights and inputs and stored as float32; tolerances are 20
times the float32-vs-float64 difference (at least 1e-5 / 1e-6).

    pip install torch==2.5.1 onnx onnx2torch saliency numpy scipy
    python3 Tools/make_pair_fixtures.py [Tests/Fixtures/reference]
"""
import os
import shutil
import sys

import numpy as np
import onnx
import onnx2torch
import torch

# PAIR's GuidedIG calls np.quantile(..., interpolation=...), which NumPy 2 renamed to `method`.
_quantile = np.quantile
np.quantile = lambda a, q, interpolation=None, **kw: _quantile(a, q, method=interpolation or "linear", **kw)
import saliency.core as saliency  # noqa: E402

import fixture_manifest

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference")
DST = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "pair")
CASES = [("blur_ig", {"max_sigma": 50.0, "steps": 100, "grad_step": 0.01, "sqrt": False}),
         ("blur_ig_sqrt_10_20", {"max_sigma": 10.0, "steps": 20, "grad_step": 0.01, "sqrt": True})]


def blur_ig(net, x, targets, params, dtype):
    def call(batch, call_model_args=None, expected_keys=None):
        t = torch.from_numpy(np.asarray(batch)).to(dtype).permute(0, 3, 1, 2).requires_grad_()
        out = net(t)
        grad = torch.autograd.grad(out[:, call_model_args].sum(), t)[0]
        return {saliency.INPUT_OUTPUT_GRADIENTS: grad.permute(0, 2, 3, 1).detach().numpy()}
    maps = []
    for image, target in zip(x, targets):
        hwc = np.transpose(image, (1, 2, 0)).astype(np.float64 if dtype == torch.float64 else np.float32)
        m = saliency.BlurIG().GetMask(hwc, call, call_model_args=int(target), max_sigma=params["max_sigma"],
                                      steps=params["steps"], grad_step=params["grad_step"], sqrt=params["sqrt"], batch_size=1)
        maps.append(np.transpose(m, (2, 0, 1)))
    return np.stack(maps).astype(np.float64)


GUIDED = [("guided_ig", {"steps": 200, "fraction": 0.25, "max_dist": 0.02, "baseline": 0.0}),
          ("guided_ig_50_0.1", {"steps": 50, "fraction": 0.25, "max_dist": 0.1, "baseline": 0.0})]


def guided_ig(net, x, targets, params, dtype):
    def call(batch, call_model_args=None, expected_keys=None):
        t = torch.from_numpy(np.asarray(batch)).to(dtype).permute(0, 3, 1, 2).requires_grad_()
        grad = torch.autograd.grad(net(t)[:, call_model_args].sum(), t)[0]
        return {saliency.INPUT_OUTPUT_GRADIENTS: grad.permute(0, 2, 3, 1).detach().numpy()}
    maps = []
    for image, target in zip(x, targets):
        hwc = np.transpose(image, (1, 2, 0)).astype(np.float64)
        m = saliency.GuidedIG().GetMask(hwc, call, call_model_args=int(target), x_baseline=np.zeros_like(hwc),
                                        x_steps=params["steps"], fraction=params["fraction"], max_dist=params["max_dist"])
        maps.append(np.transpose(m, (2, 0, 1)))
    return np.stack(maps).astype(np.float64)


def main():
    for model in ("digits-cnn", "digits-resnet"):
        src, out = os.path.join(SRC, model), os.path.join(DST, model)
        os.makedirs(out, exist_ok=True)
        for f in ("model.onnx", "input.npy", "targets.npy", "logits.npy"):
            shutil.copy(os.path.join(src, f), os.path.join(out, f))
        proto = onnx.load(os.path.join(src, "model.onnx"))
        x, targets = np.load(os.path.join(src, "input.npy")), np.load(os.path.join(src, "targets.npy"))
        nets = {dtype: onnx2torch.convert(proto).to(dtype).eval() for dtype in (torch.float64, torch.float32)}
        cases = []
        for cid, params in CASES:
            ref, r32 = (blur_ig(nets[d], x, targets, params, d) for d in (torch.float64, torch.float32))
            cases.append(fixture_manifest.case(
                out, cid, "reference", "PAIR BlurIG", "saliency 0.2.1 (Google PAIR; model via onnx2torch)", params, ref, r32,
                "gradient of the target logit (targets.npy)",
                "PAIR BlurIG.GetMask on each image (HWC), transposed back to CHW: scipy gaussian_filter with mode='constant' per channel."))
        for cid, params in GUIDED:
            ref, r32 = (guided_ig(nets[d], x, targets, params, d) for d in (torch.float64, torch.float32))
            cases.append(fixture_manifest.case(
                out, cid, "reference", "PAIR GuidedIG", "saliency 0.2.1 (Google PAIR; model via onnx2torch)", params, ref, r32,
                "gradient of the target logit (targets.npy)",
                "PAIR GuidedIG.GetMask on each image (HWC), baseline 0, transposed back to CHW."))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "saliency 0.2.1 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
