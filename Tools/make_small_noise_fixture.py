#!/usr/bin/env python3
"""Makes Tests/Fixtures/noise/tabular-one: Captum's NoiseTunnel and GradientShap and zennit's
SmoothGrad with their own draws on fewer than 16 noise values, where torch draws each normal by its
scalar path (Box–Muller on 53-bit doubles, the second half kept for the next call) instead of
`normal_fill`. The model is the shap set's 6-feature tabular MLP (`../shap/tabular-mlp`), the input
its first row; the runs and float64 replays are those of `make_noise_tunnel_fixtures.py`:

- `smoothgrad_small_seed4`: `NoiseTunnel(Saliency)`, `abs=False`, 2 samples, stdev 0.5 (12 values);
- `gradient_shap_small_seed2`: `GradientShap`, `baselines.npy` (zeros and the input halved),
  2 samples, stdev 0.2 (12 values);
- `zennit_smoothgrad_small_seed6`: zennit's `SmoothGrad`, 3 iterations, noise level 0.1 (6 values per
  `randn_like`).

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 zennit==0.5.1 numpy
    python3 Tools/make_small_noise_fixture.py
"""
import os
import shutil

import numpy as np
import onnx
import onnx2torch
import torch

import fixture_manifest
import make_noise_tunnel_fixtures as nt

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "shap", "tabular-mlp")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "noise", "tabular-one")


def main():
    os.makedirs(OUT, exist_ok=True)
    shutil.copy(os.path.join(SRC, "model.onnx"), os.path.join(OUT, "model.onnx"))
    proto = onnx.load(os.path.join(OUT, "model.onnx"))
    x = np.load(os.path.join(SRC, "input.npy"))[:1]
    net32, net64 = onnx2torch.convert(proto).float().eval(), onnx2torch.convert(proto).double().eval()
    targets = fixture_manifest.save_inputs(OUT, proto, x)
    base = np.stack([np.zeros_like(x[0]), x[0] / 2]).astype(np.float32)
    np.save(os.path.join(OUT, "baselines.npy"), base)
    xt, t = torch.from_numpy(x), torch.from_numpy(targets)
    cases = []
    r32 = nt.captum(net32, xt, t, "smoothgrad", "Saliency", False, 2, 0.5, 4).astype(np.float64)
    ref = nt.replay(net64, xt, t, "smoothgrad", "Saliency", False, 2, 0.5, 4)
    cases.append(fixture_manifest.case(
        OUT, "smoothgrad_small_seed4", "gradient", "NoiseTunnel", "captum 0.9.0 (model via onnx2torch)",
        {"nt_type": "smoothgrad", "base": "Saliency", "nt_samples": 2, "stdevs": 0.5, "seed": 4, "rng": "torch", "abs": False},
        ref, r32, "output gradient = one-hot(target) on the logits of every noisy copy",
        "torch.manual_seed(4); NoiseTunnel(Saliency(model)).attribute(x, nt_type='smoothgrad', nt_samples=2, stdevs=0.5, abs=False, "
        "target): 12 noise values, torch's scalar normal path. Reference: the same float32 draws replayed in float64."))
    r32 = nt.shap_captum(net32, xt, t, torch.from_numpy(base), None, 2, 0.2, 2).astype(np.float64)
    ref = nt.shap_replay(net64, xt, t, torch.from_numpy(base), None, 2, 0.2, 2)
    cases.append(fixture_manifest.case(
        OUT, "gradient_shap_small_seed2", "reference", "GradientShap+captum", "captum 0.9.0 (model via onnx2torch)",
        {"baselines": "baselines.npy", "n_samples": 2, "stdevs": 0.2, "seed": 2, "rng": "captum"}, ref, r32,
        "output gradient = one-hot(target) on the logits of every copy",
        "np.random.seed(2); torch.manual_seed(2); GradientShap(model).attribute(x, baselines=baselines.npy, n_samples=2, stdevs=0.2, "
        "target): 12 noise values. Reference: Captum's draws replayed in float64."))
    classes = int(np.load(os.path.join(OUT, "logits.npy")).shape[1])
    r32 = nt.zennit_run(net32, xt, t, 3, 0.1, 6, False, classes).astype(np.float64)
    ref = nt.zennit_replay(net64, xt, t, 3, 0.1, 6, False, classes)
    cases.append(fixture_manifest.case(
        OUT, "zennit_smoothgrad_small_seed6", "gradient", "zennit SmoothGrad", "zennit 0.5.1 (model via onnx2torch)",
        {"n_iter": 3, "noise_level": 0.1, "seed": 6, "rng": "zennit", "composite": None}, ref, r32,
        "output gradient = one-hot(target) on the logits of every copy",
        "torch.manual_seed(6); zennit.attribution.SmoothGrad(model, noise_level=0.1, n_iter=3)(x, one-hot(target)): "
        "6 values per randn_like. Reference: the same float32 draws, each copy attributed in float64."))
    fixture_manifest.write(OUT, "tabular-one", "the shap set's tabular MLP, its first input row",
                           "Captum's and zennit's float32 draws replayed in float64, stored as float32", cases)


if __name__ == "__main__":
    main()
