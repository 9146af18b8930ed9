#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/shap: SHAP values with a background dataset (shap's
interventional masking: an absent feature takes each background sample's value in turn and a
coalition's value is the mean over them) on a small tabular MLP (6 features → 16 → ReLU → 3),
computed by shap 0.51.0 in float64 from the float32 weights and inputs:

- `exact_background`: `shap.explainers.Exact` with `shap.maskers.Independent(background)`;
- `kernel_background`: `shap.KernelExplainer(f, background).shap_values(x)` (6 features: all 62
  coalitions are enumerated, so it equals the exact values up to the solver);
- `permutation_background_*`: `shap.PermutationExplainer(f, Independent(background), seed=S)(x,
  max_evals=E)` (antithetic orders drawn from numpy's legacy generator; the four rows in one call,
  so the stream continues from row to row).

Each explains the logit of targets.npy (the arg-max). Format of the shared set.

`cancer-mlp` (the shared set's 30-feature MLP, copied; background = 12 rows drawn from N(0, 1) with
numpy seed 17, `background.npy`): `shap.KernelExplainer(f, background).shap_values(x)` after
`np.random.seed(S)` — 30 features leave most coalition sizes to sampling, so the numpy draws and
the least-angle selection of `l1_reg="num_features(r)"` (shap's default r = 10) decide the values:

- `kernel_numpy_seed0_default`: seed 0, the defaults (2 · 30 + 2048 samples, num_features(10));
- `kernel_numpy_seed3_500_nol1`: seed 3, nsamples=500, l1_reg=False;
- `kernel_numpy_seed1_300_l1_5`: seed 1, nsamples=300, l1_reg="num_features(5)".

    pip install torch==2.5.1 onnx onnx2torch shap==0.51.0 scikit-learn==1.9.1 numpy
    python3 Tools/make_shap_background_fixture.py
"""
import os

import numpy as np
import shap
import torch
import torch.nn as nn

import fixture_manifest

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "shap", "tabular-mlp")


def main():
    torch.manual_seed(21)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    x = torch.randn(4, 6)
    background = torch.randn(5, 6)
    targets = fixture_manifest.export(model, x, OUT).argmax(1)
    np.save(os.path.join(OUT, "background.npy"), background.numpy())

    def values(kind, dtype):
        net = model.to(dtype)
        f = lambda a: net(torch.from_numpy(np.asarray(a)).to(dtype)).detach().double().numpy()
        xs, bs = x.numpy().astype(np.float64), background.numpy().astype(np.float64)
        if isinstance(kind, tuple):
            _, seed, evals = kind
            e = shap.PermutationExplainer(f, shap.maskers.Independent(bs, max_samples=len(bs)), seed=seed)
            phi = e(xs, max_evals=evals, silent=True).values
        elif kind == "exact":
            phi = shap.explainers.Exact(f, shap.maskers.Independent(bs, max_samples=len(bs)))(xs).values   # (N, 6, 3)
        else:
            phi = shap.KernelExplainer(f, bs).shap_values(xs, nsamples=2048, silent=True)
            phi = np.stack(phi, axis=-1) if isinstance(phi, list) else phi                                   # (N, 6, 3)
        return np.stack([phi[i, :, t] for i, t in enumerate(targets)]).astype(np.float64)

    cases = []
    runs = [("exact_background", "exact", "SHAP Exact background"), ("kernel_background", "kernel", "SHAP KernelExplainer background"),
            ("permutation_background_seed0_100", ("permutation", 0, 100), "SHAP PermutationExplainer background"),
            ("permutation_background_seed7_500", ("permutation", 7, 500), "SHAP PermutationExplainer background")]
    for cid, kind, method in runs:
        ref, r32 = values(kind, torch.float64), values(kind, torch.float32)
        params = {"background": "background.npy"}
        if isinstance(kind, tuple):
            params.update({"seed": kind[1], "max_evals": kind[2]})
        cases.append(fixture_manifest.case(
            OUT, cid, "model_agnostic", method, "shap 0.51.0", params, ref, r32,
            "the logit of targets.npy",
            "SHAP values with the background set of background.npy (5 samples): v(S) = mean over background b of f_t(x_S, b_not S)."))
    fixture_manifest.write(OUT, "tabular-mlp", "Tools/make_shap_background_fixture.py (Linear 6→16, ReLU, Linear 16→3; seed 21)",
                           "shap 0.51.0 in float64 from the float32 weights and inputs, stored as float32", cases)


def cancer():
    import onnx2torch
    out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "shap", "cancer-mlp")
    proto, x, targets = fixture_manifest.copy_shared(os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference", "cancer-mlp"), out)
    background = np.random.RandomState(17).randn(12, x.shape[1]).astype(np.float32)
    np.save(os.path.join(out, "background.npy"), background)
    runs = [("kernel_numpy_seed0_default", 0, {}), ("kernel_numpy_seed3_500_nol1", 3, {"nsamples": 500, "l1_reg": False}),
            ("kernel_numpy_seed1_300_l1_5", 1, {"nsamples": 300, "l1_reg": "num_features(5)"})]

    def values(seed, options, dtype):
        net = onnx2torch.convert(proto).to(dtype).eval()
        f = lambda a: net(torch.from_numpy(np.asarray(a)).to(dtype)).detach().double().numpy()
        np.random.seed(seed)
        phi = shap.KernelExplainer(f, background.astype(np.float64)).shap_values(x.astype(np.float64), silent=True, **options)
        phi = np.stack(phi, axis=-1) if isinstance(phi, list) else phi
        return np.stack([phi[i, :, t] for i, t in enumerate(targets)]).astype(np.float64)

    cases = []
    for cid, seed, options in runs:
        ref, r32 = values(seed, options, torch.float64), values(seed, options, torch.float32)
        params = {"background": "background.npy", "rng": "numpy", "seed": seed,
                  "l1_reg": {False: "false"}.get(options.get("l1_reg", "num_features(10)"), options.get("l1_reg", "num_features(10)"))}
        if "nsamples" in options:
            params["samples"] = options["nsamples"]
        cases.append(fixture_manifest.case(
            out, cid, "model_agnostic", "SHAP KernelExplainer numpy", "shap 0.51.0 (scikit-learn 1.9.1 lars_path)", params, ref, r32,
            "the logit of targets.npy",
            f"np.random.seed({seed}); shap.KernelExplainer(f, background).shap_values(x, {', '.join(f'{k}={v!r}' for k, v in options.items())}): "
            "coalitions drawn by np.random.choice / np.random.permutation, values of the groups chosen by least-angle regression "
            "(l1_reg) from the efficiency-augmented weighted problem, then weighted least squares with the last chosen group eliminated."))
    fixture_manifest.write(out, "cancer-mlp", "copied from the shared set (cancer-mlp); background.npy: numpy RandomState(17).randn(12, 30)",
                           "shap 0.51.0 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
    cancer()
