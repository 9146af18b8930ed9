#!/usr/bin/env python3
"""Makes the model folders Tests/Fixtures/shap/cancer-mlp-sampling and digits-cnn-sampling: shap
0.51.0's SamplingExplainer (IME, Štrumbelj & Kononenko) with its own draws —
`np.random.seed(S); shap.SamplingExplainer(f, background).shap_values(x, nsamples=…)` — on the
shared cancer MLP (background: the 12 rows of ../cancer-mlp/background.npy) and digits CNN (a
background of one all-zero image), in the shared set's format.

shap draws from numpy's global legacy generator: per feature and sample one `np.random.shuffle` of
the running feature order and one `np.random.randint(K)` background row (no draw when K = 1); the
stream continues from feature to feature, round to round and row to row. `f` returns every logit;
the target's column is stored. shap runs the model in float64 here (its masked rows are float64),
so the reference is shap's own run; a float32 model sets the tolerance (20 times the difference, at
least 1e-5 / 1e-6). ExplainKit: `sampling_shap --set seed=S --set background=file:background.npy
[--set samples=N] [--set min_samples_per_feature=K]`.

    pip install torch==2.5.1 onnx onnx2torch shap==0.51.0 numpy
    python3 Tools/make_shap_sampling_fixtures.py
"""
import os
import shutil

import numpy as np
import onnx
import onnx2torch
import shap
import torch

import fixture_manifest

HERE = os.path.dirname(__file__)
SHAP = os.path.join(HERE, "..", "Tests", "Fixtures", "shap")
REFERENCE = os.path.join(HERE, "..", "Tests", "Fixtures", "reference")
RUNS = {
    # folder: (source folder, background or None for one zero row, [(case id, seed, nsamples or None, min_samples_per_feature or None)])
    "cancer-mlp-sampling": (os.path.join(SHAP, "cancer-mlp"), "background.npy",
                            [("sampling_numpy_seed0_default", 0, None, None),
                             ("sampling_numpy_seed2_800_min10", 2, 800, 10),
                             ("sampling_numpy_seed5_90", 5, 90, None)]),
    "digits-cnn-sampling": (os.path.join(REFERENCE, "digits-cnn"), None,
                            [("sampling_numpy_seed1_1200", 1, 1200, None)]),
}


def run(proto, x, t, background, seed, nsamples, min_per, dtype):
    net = onnx2torch.convert(proto).to(dtype).eval()
    shape = x.shape[1:]

    def f(a):
        with torch.no_grad():
            return net(torch.from_numpy(np.asarray(a).reshape((-1,) + shape)).to(dtype)).double().numpy()

    flat = x.reshape(len(x), -1).astype(np.float64)
    explainer = shap.SamplingExplainer(f, background.reshape(len(background), -1).astype(np.float64))
    kwargs = {} if nsamples is None else {"nsamples": nsamples}
    if min_per is not None:
        kwargs["min_samples_per_feature"] = min_per
    np.random.seed(seed)
    values = np.array(explainer.shap_values(flat, **kwargs))   # (N, P, D)
    return np.stack([values[j, :, int(t[j])] for j in range(len(x))]).reshape(x.shape)


def main():
    for folder, (source, background_file, cases_spec) in RUNS.items():
        out = os.path.join(SHAP, folder)
        os.makedirs(out, exist_ok=True)
        for f in ("model.onnx", "input.npy", "targets.npy", "logits.npy"):
            shutil.copy(os.path.join(source, f), os.path.join(out, f))
        proto = onnx.load(os.path.join(out, "model.onnx"))
        x, t = np.load(os.path.join(out, "input.npy")), np.load(os.path.join(out, "targets.npy"))
        if background_file:
            background = np.load(os.path.join(source, background_file))
        else:
            background = np.zeros((1,) + x.shape[1:], dtype=np.float32)
        np.save(os.path.join(out, "background.npy"), background)
        cases = []
        for cid, seed, nsamples, min_per in cases_spec:
            ref = run(proto, x, t, background, seed, nsamples, min_per, torch.float64)
            r32 = run(proto, x, t, background, seed, nsamples, min_per, torch.float32)
            params = {"background": "background.npy", "seed": seed, "rng": "numpy"}
            if nsamples is not None:
                params["samples"] = nsamples
            if min_per is not None:
                params["min_samples_per_feature"] = min_per
            call = (f"np.random.seed({seed}); SamplingExplainer(f, background).shap_values(x"
                    + ("" if nsamples is None else f", nsamples={nsamples}")
                    + ("" if min_per is None else f", min_samples_per_feature={min_per}") + ")")
            other = run(proto, x, t, background, seed + 100, nsamples, min_per, torch.float64)
            cases.append(fixture_manifest.case(
                out, cid, "model-agnostic", "SHAP SamplingExplainer numpy", "shap 0.51.0 (model via onnx2torch)", params, ref, r32,
                "the target logit's column of shap's values (f returns every logit)",
                call + ": numpy's global legacy generator, the four rows in one call.",
                cross_seed_max_abs=float(np.abs(ref - other).max())))
        fixture_manifest.write(out, folder, source, "shap's own float64 run", cases)


if __name__ == "__main__":
    main()
