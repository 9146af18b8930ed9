#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/quantus_cases.npz: Quantus 0.6.0's FaithfulnessCorrelation,
MonotonicityCorrelation, NonSensitivity, Sufficiency and (explaining with the plain gradient, which
Quantus calls again on perturbed inputs) LocalLipschitzEstimate, RelativeInputStability,
RelativeOutputStability, RelativeRepresentationStability, Continuity and RandomLogit, and IROF (scikit-image's SLIC superpixels;
called sample by sample, as each sample is scored alone here) on the shared digits CNN
(Tests/Fixtures/reference/digits-cnn, converted with onnx2torch, float32, logits: softmax=False).

The batch holds the fixture's 4 inputs and 4 copies of them with small Gaussian noise (so that
Sufficiency finds close explanations), the targets are the model's classes, and the attribution is
the reference gradient of the 4 inputs (twice) plus small noise (no ties); NonSensitivity's
attribution is zero where the input holds its smallest value. The random metrics run after
np.random.seed(seed), as a user seeds Quantus. Each array is one case's per-sample scores.

    pip install quantus==0.6.0 onnx2torch torch==2.5.1 numpy
    python3 Tools/make_quantus_fixture.py
"""
import os

import numpy as np
import onnx
import onnx2torch
import quantus
import torch

if not hasattr(np, "trapz"):   # numpy 2.4 removed trapz, which Quantus 0.6.0's IROF calls; trapezoid is the same rule
    np.trapz = np.trapezoid

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
MODEL = os.path.join(ROOT, "reference", "digits-cnn")
OUT = os.path.join(ROOT, "arrays", "quantus_cases.npz")

PER_SAMPLE = {"normalise_func_kwargs": {"normalise_axes": [1, 2, 3]}}
# (case, metric class, constructor arguments, numpy seed or None, attribution key)
CASES = [
    ("faithfulness_correlation_r40_s60_black_seed3", quantus.FaithfulnessCorrelation,
     {"nr_runs": 40, "subset_size": 60, "return_aggregate": False}, 3, "attributions"),
    ("faithfulness_correlation_r25_s100_zero_seed7", quantus.FaithfulnessCorrelation,
     {"nr_runs": 25, "subset_size": 100, "perturb_baseline": 0.0, "return_aggregate": False}, 7, "attributions"),
    ("monotonicity_correlation_k16_n8_uniform_seed5", quantus.MonotonicityCorrelation,
     {"features_in_step": 16, "nr_samples": 8}, 5, "attributions"),
    ("monotonicity_correlation_k8_n4_black_seed1", quantus.MonotonicityCorrelation,
     {"features_in_step": 8, "nr_samples": 4, "perturb_baseline": "black"}, 1, "attributions"),
    ("non_sensitivity_k1_black", quantus.NonSensitivity, {"features_in_step": 1, **PER_SAMPLE}, None, "silent_attributions"),
    ("non_sensitivity_k1_white_eps1e-3", quantus.NonSensitivity,
     {"features_in_step": 1, "perturb_baseline": "white", "eps": 1e-3, **PER_SAMPLE}, None, "silent_attributions"),
    ("sufficiency_default", quantus.Sufficiency, {}, None, "attributions"),
    ("sufficiency_t0.9", quantus.Sufficiency, {"threshold": 0.9}, None, "attributions"),
    # Explained again by `gradient` (a_batch None: Quantus explains x too).
    ("local_lipschitz_estimate_n5_seed3", quantus.LocalLipschitzEstimate, {"nr_samples": 5, **PER_SAMPLE}, 3, None),
    ("local_lipschitz_estimate_n4_std0.3_seed8", quantus.LocalLipschitzEstimate,
     {"nr_samples": 4, "perturb_std": 0.3, **PER_SAMPLE}, 8, None),
    ("relative_input_stability_n5_seed4", quantus.RelativeInputStability, {"nr_samples": 5}, 4, None),
    ("relative_output_stability_n5_seed5", quantus.RelativeOutputStability, {"nr_samples": 5}, 5, None),
    # onnx2torch names the module of ONNX node "/relu3/Relu" "relu3/Relu".
    ("relative_representation_stability_relu3_n5_seed6", quantus.RelativeRepresentationStability,
     {"nr_samples": 5, "layer_names": ["relu3/Relu"]}, 6, None),
    ("continuity_s8", quantus.Continuity, {"nr_steps": 8, **PER_SAMPLE}, None, None),
    ("continuity_s28", quantus.Continuity, {**PER_SAMPLE}, None, None),  # Quantus shifts in "black" whatever perturb_baseline says
    ("random_logit_seed42", quantus.RandomLogit, {"num_classes": 10, **PER_SAMPLE}, None, None),
    ("random_logit_seed7", quantus.RandomLogit, {"num_classes": 10, "seed": 7, **PER_SAMPLE}, None, None),
]


def gradient(model, inputs, targets, **kwargs):
    """The plain gradient of the target logits (Captum's Saliency with abs=False)."""
    x = torch.tensor(np.asarray(inputs), dtype=torch.float32, requires_grad=True)
    out = model(x)
    out[torch.arange(len(x)), torch.as_tensor(np.asarray(targets))].sum().backward()
    return x.grad.detach().numpy()


def main():
    torch.manual_seed(0)
    net = onnx2torch.convert(onnx.load(os.path.join(MODEL, "model.onnx"))).eval()
    x4 = np.load(os.path.join(MODEL, "input.npy")).astype(np.float32)
    rng = np.random.default_rng(11)
    x = np.concatenate([x4, x4 + 0.02 * rng.standard_normal(x4.shape).astype(np.float32)]).astype(np.float32)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy().argmax(axis=1).astype(np.int64)
    g4 = np.load(os.path.join(MODEL, "gradient.npy")).astype(np.float64)
    g = np.concatenate([g4, g4])
    a = (g + 0.01 * np.abs(g).max() * rng.standard_normal(g.shape)).astype(np.float32)
    silent = np.where(x > x.reshape(len(x), -1).min(axis=1)[:, None, None, None], a, 0).astype(np.float32)
    out = {"input": x, "targets": y, "attributions": a, "silent_attributions": silent}
    for name, cls, kwargs, seed, key in CASES:
        metric = cls(**kwargs, disable_warnings=True, display_progressbar=False)
        if seed is not None:
            np.random.seed(seed)
        given = {"a_batch": out[key].copy()} if key else {"a_batch": None, "explain_func": gradient}
        scores = metric(model=net, x_batch=x.copy(), y_batch=y, device="cpu", softmax=False, channel_first=True, **given)
        out[name] = np.asarray(scores, dtype=np.float64)
        print(name, np.round(out[name], 5).tolist())
    for name, kwargs in [("irof_mean", {}), ("irof_black", {"perturb_baseline": "black"})]:
        metric = quantus.IROF(return_aggregate=False, disable_warnings=True, display_progressbar=False, **kwargs)
        scores = [metric(model=net, x_batch=x[i:i + 1].copy(), y_batch=y[i:i + 1], a_batch=out["attributions"][i:i + 1].copy(), device="cpu",
                         softmax=False, channel_first=True)[0] for i in range(len(x))]
        out[name] = np.asarray(scores, dtype=np.float64)
        print(name, np.round(out[name], 5).tolist())
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
