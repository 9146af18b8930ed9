#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/pair: Google PAIR `saliency` 0.2.1's BlurIG, GuidedIG and XRAI on the shared image
models (via onnx2torch; model.onnx, input.npy, targets.npy, logits.npy copied from ../reference), in
the shared set's format. PAIR works on one HWC image at a time; its call_model_function here returns
the gradient of the target logit (targets.npy) computed by PyTorch in float64. `batch_size=1`
(PAIR's default): with larger batches PAIR weights every step of a batch by the σ step of the
batch's last point, which changes the result on the square-root path. References are
computed in float64 from the float32 weights and inputs and stored as float32; tolerances are 20
times the float32-vs-float64 difference (at least 1e-5 / 1e-6).

XRAI is given its regions (`xrai_segments.npy`: per image two label maps, scikit-image's
Felzenszwalb at scales 20 and 80, σ = 0.8, minimum size 8, on the image rescaled to [−1, 1]; each
label one region, not dilated), 20 Integrated-Gradients steps per baseline and min_pixel_diff 5
(the images have 256 pixels); `xrai_own_segments` lets PAIR segment the images itself (see also
Tools/make_xrai_segmentation_fixture.py for the segmentation alone).

    pip install torch==2.5.1 onnx onnx2torch saliency numpy scipy scikit-image
    python3 Tools/make_pair_fixtures.py [Tests/Fixtures/reference]
"""
import os
import sys

import numpy as np
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
GUIDED = [("guided_ig", {"steps": 200, "fraction": 0.25, "max_dist": 0.02, "baseline": 0.0}),
          ("guided_ig_50_0.1", {"steps": 50, "fraction": 0.25, "max_dist": 0.1, "baseline": 0.0})]


def gradient_call(net, dtype):
    """PAIR's call_model_function: the gradient of the logit `call_model_args` for a batch of HWC images."""
    def call(batch, call_model_args=None, expected_keys=None):
        t = torch.from_numpy(np.asarray(batch)).to(dtype).permute(0, 3, 1, 2).requires_grad_()
        grad = torch.autograd.grad(net(t)[:, call_model_args].sum(), t)[0]
        return {saliency.INPUT_OUTPUT_GRADIENTS: grad.permute(0, 2, 3, 1).detach().numpy()}
    return call


def masks(method, net, x, targets, kwargs, dtype):
    """PAIR `method().GetMask` on each image (HWC, in `dtype`), with the gradient of its target logit
    from `net` in `dtype`; the masks transposed back to (N, C, H, W)."""
    call = gradient_call(net, dtype)
    maps = []
    for image, target in zip(x, targets):
        hwc = np.transpose(image, (1, 2, 0)).astype(np.float64 if dtype == torch.float64 else np.float32)
        extra = {"x_baseline": np.zeros_like(hwc)} if method is saliency.GuidedIG else {}
        maps.append(np.transpose(method().GetMask(hwc, call, call_model_args=int(target), **kwargs, **extra), (2, 0, 1)))
    return np.stack(maps).astype(np.float64)


def blur_kwargs(p):
    return dict(max_sigma=p["max_sigma"], steps=p["steps"], grad_step=p["grad_step"], sqrt=p["sqrt"], batch_size=1)


def guided_kwargs(p):
    return dict(x_steps=p["steps"], fraction=p["fraction"], max_dist=p["max_dist"])


XRAI_CASES = [("xrai", {"steps": 20, "min_pixel_diff": 5, "area_threshold": 1.0, "algorithm": "full"}),
              ("xrai_fast", {"steps": 20, "min_pixel_diff": 5, "area_threshold": 1.0, "algorithm": "fast"}),
              ("xrai_area_0.6", {"steps": 20, "min_pixel_diff": 5, "area_threshold": 0.6, "algorithm": "full"}),
              ("xrai_own_segments", {"steps": 20, "min_pixel_diff": 50, "area_threshold": 1.0, "algorithm": "full", "own_segments": True})]


def xrai_segments(x):
    """Per image (N, C, H, W): two Felzenszwalb label maps (scales 20 and 80) of the image rescaled to [-1, 1]."""
    from skimage.segmentation import felzenszwalb
    maps = []
    for image in x:
        hwc = np.transpose(image, (1, 2, 0)).astype(np.float64)
        hwc = (hwc - hwc.min()) / (hwc.max() - hwc.min()) * 2 - 1
        maps.append(np.stack([felzenszwalb(hwc, scale=s, sigma=0.8, min_size=8) for s in (20, 80)]))
    return np.stack(maps).astype(np.int64)


def xrai(net, x, targets, labels, p, dtype):
    """PAIR XRAI.GetMask on each image with the given regions (one mask per label of each map)."""
    call = gradient_call(net, dtype)
    maps = []
    for image, target, seg in zip(x, targets, labels):
        hwc = np.transpose(image, (1, 2, 0)).astype(np.float64 if dtype == torch.float64 else np.float32)
        masks = None if p.get("own_segments") else [m == l for m in seg for l in range(m.min(), m.max() + 1)]
        params = saliency.XRAIParameters(steps=p["steps"], area_threshold=p["area_threshold"], algorithm=p["algorithm"])
        params.experimental_params["min_pixel_diff"] = p["min_pixel_diff"]
        maps.append(saliency.XRAI().GetMask(hwc, call, call_model_args=int(target), segments=masks, batch_size=p["steps"],
                                            extra_parameters=params)[None])
    return np.stack(maps).astype(np.float64)


def main():
    runs = [(cid, "PAIR BlurIG", saliency.BlurIG, blur_kwargs(p), p,
             "PAIR BlurIG.GetMask on each image (HWC), transposed back to CHW: scipy gaussian_filter with mode='constant' per channel.")
            for cid, p in CASES]
    runs += [(cid, "PAIR GuidedIG", saliency.GuidedIG, guided_kwargs(p), p,
              "PAIR GuidedIG.GetMask on each image (HWC), baseline 0, transposed back to CHW.") for cid, p in GUIDED]
    for model in ("digits-cnn", "digits-resnet"):
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        nets = {dtype: onnx2torch.convert(proto).to(dtype).eval() for dtype in (torch.float64, torch.float32)}
        cases = []
        for cid, name, method, kwargs, params, notes in runs:
            ref, r32 = (masks(method, nets[d], x, targets, kwargs, d) for d in (torch.float64, torch.float32))
            cases.append(fixture_manifest.case(out, cid, "reference", name, "saliency 0.2.1 (Google PAIR; model via onnx2torch)", params,
                                               ref, r32, "gradient of the target logit (targets.npy)", notes))
        labels = xrai_segments(x)
        np.save(os.path.join(out, "xrai_segments.npy"), labels)
        for cid, p in XRAI_CASES:
            ref, r32 = (xrai(nets[d], x, targets, labels, p, d) for d in (torch.float64, torch.float32))
            own = p.get("own_segments", False)
            params = {k: v for k, v in p.items() if k != "own_segments"}
            if not own:
                params["segments"] = "xrai_segments.npy"
            regions = ("PAIR's own regions (Felzenszwalb at six scales on the image resized to 224 x 224, labels resized back, dilated)"
                       if own else "the regions of xrai_segments.npy (one mask per label of each of its two maps)")
            cases.append(fixture_manifest.case(out, cid, "reference", "PAIR XRAI", "saliency 0.2.1 (Google PAIR; model via onnx2torch)",
                                               params, ref, r32, "gradient of the target logit (targets.npy)",
                                               f"PAIR XRAI.GetMask on each image (HWC) with {regions}, IG from the black and white "
                                               "baselines; the map as (N, 1, H, W)."))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "saliency 0.2.1 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
