#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/surrogate: Captum 0.9.0's KernelShap with its own draws —
`torch.manual_seed(S)` right before `attribute` — on the shared cancer MLP, digits CNN and digits
ResNet (copied from ../reference; converted with onnx2torch), in the shared set's format.

Captum's draws, per example of the batch (one stream across the batch): the all-ones and the
all-zeros coalition, then per further sample a size k from `Categorical(p)`, p_k ∝ (M − 1)/(k(M − k))
(`torch.multinomial`: argmax of p / q with q = `exponential_()` of M floats), `torch.randn(1, M)` and
the k largest normals; after each example its surrogate model's `nn.Linear(M, 1)` initialisation
and the DataLoader's seed take M + 1 and 2 further 32-bit draws. The draws are recorded from
Captum's own run; the reference replays them in float64: the float64 model on the perturbed inputs
(absent groups := the baseline), weights 1 (10⁶ for the all-ones and all-zeros coalitions), and
scikit-learn's `LinearRegression` (weighted means subtracted, rows scaled by √w, least squares)
solved in float64 with the minimum-norm solution, singular values below 1e-10 · the largest
treated as zero (Captum's float32 `sgelsd` run cuts at float32's epsilon). Tolerances: 20 times
the float32-vs-float64 difference (at least 1e-5 / 1e-6). `torch_draws.npz`: a sequence of torch's
small normals, exponentials and normals after `torch.manual_seed(S)` (checks the generator). ExplainKit: `kernel_shap --set
rng=captum --set seed=S --set samples=n_samples [--set groups=file:feature_mask.npy]`.

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 numpy scikit-learn
    python3 Tools/make_surrogate_fixtures.py
"""
import os

import numpy as np
import onnx2torch
import torch
from captum.attr import KernelShap, Lime
from captum.attr._core.lime import default_perturb_func
from sklearn.linear_model import Lasso

import fixture_manifest

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "reference")
DST = os.path.join(HERE, "..", "Tests", "Fixtures", "surrogate")
CUTOFF = 1e-10
RUNS = {
    # (case id, seed, n_samples or None for Captum's default 25, use the shared feature_mask.npy)
    "cancer-mlp": [("kernel_shap_captum_seed0", 0, None, False),
                   ("kernel_shap_captum_seed4_300", 4, 300, False),
                   ("kernel_shap_captum_mask_seed2_40", 2, 40, True)],
    "digits-cnn": [("kernel_shap_captum_mask_seed1_60", 1, 60, True)],
    "digits-resnet": [("kernel_shap_captum_mask_seed3_150", 3, 150, True)],
}
LIME_RUNS = {
    # (case id, seed, n_samples or None for Captum's default 25, use the shared feature_mask.npy)
    "cancer-mlp": [("lime_captum_seed0", 0, None, False), ("lime_captum_mask_seed5_80", 5, 80, True)],
    "digits-cnn": [("lime_captum_mask_seed1_100", 1, 100, True)],
    "digits-resnet": [("lime_captum_mask_seed2_200", 2, 200, True)],
}
LASSO_TOL = 1e-13

recorded = []
_generator = KernelShap.kernel_shap_perturb_generator


def _recording(self, inp, **kwargs):
    rows = []
    recorded.append(rows)
    for z in _generator(self, inp, **kwargs):
        rows.append(z.numpy()[0].copy())
        yield z


KernelShap.kernel_shap_perturb_generator = _recording


def captum(net, x, t, seed, n, mask):
    recorded.clear()
    extra = {} if n is None else {"n_samples": n}
    torch.manual_seed(seed)
    out = KernelShap(net).attribute(torch.from_numpy(x), target=torch.from_numpy(t), baselines=0.0,
                                    feature_mask=None if mask is None else torch.from_numpy(mask), **extra)
    return out.detach().numpy().astype(np.float64), [np.array(r) for r in recorded]


def weighted_least_squares(z, y, w):
    """scikit-learn's LinearRegression with sample weights, in float64, minimum-norm."""
    zbar = (w[:, None] * z).sum(0) / w.sum()
    ybar = (w * y).sum() / w.sum()
    s = np.sqrt(w)
    a, b = (z - zbar) * s[:, None], (y - ybar) * s
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    keep = sv > CUTOFF * sv.max()
    coef = vt[keep].T @ ((u[:, keep].T @ b) / sv[keep])
    return coef


def replay(net64, x, t, rows, mask):
    out = []
    for j, z in enumerate(rows):
        m = z.shape[1]
        groups = np.arange(x[j].size).reshape(x[j].shape) if mask is None else mask[j]
        present = z[:, groups.reshape(-1)].reshape((len(z),) + x[j].shape)
        inputs = torch.from_numpy(present * x[j].astype(np.float64))
        with torch.no_grad():
            y = net64(inputs)[:, int(t[j])].numpy()
        k = z.sum(1)
        w = np.where((k == 0) | (k == m), 1e6, 1.0)
        coef = weighted_least_squares(z.astype(np.float64), y, w)
        out.append(coef[groups])
    return np.stack(out)


def torch_draws():
    """torch's draws after torch.manual_seed(S), in one sequence per seed: small normals (the scalar
    path, whose second Box–Muller half is kept for the next call), exponentials (MKL's MCG31 stream
    seeded by one 32-bit draw) and a normal_fill of 20."""
    draws = {}
    for seed in (0, 9):
        torch.manual_seed(seed)
        draws[f"s{seed}_randn5"] = torch.randn(5).numpy()
        draws[f"s{seed}_randn3"] = torch.randn(3).numpy()
        draws[f"s{seed}_exponential7"] = torch.empty(7).exponential_().numpy()
        draws[f"s{seed}_randn20"] = torch.randn(20).numpy()
        draws[f"s{seed}_randn1"] = torch.randn(1).numpy()
        draws[f"s{seed}_exponential40"] = torch.empty(40).exponential_().numpy()
    return draws


def lime_captum(net, x, t, seed, n, mask):
    """Captum's Lime with its defaults on the batch (it explains the examples one by one); the draws
    are recorded through a perturb_func that calls Captum's default one."""
    rows = []

    def perturb(original, **kwargs):
        z = default_perturb_func(original, **kwargs)
        rows.append(z.numpy()[0].copy())
        return z

    count = 25 if n is None else n
    extra = {} if n is None else {"n_samples": n}
    torch.manual_seed(seed)
    out = Lime(net, perturb_func=perturb).attribute(torch.from_numpy(x), target=torch.from_numpy(t), baselines=0.0,
                                                    feature_mask=None if mask is None else torch.from_numpy(mask), **extra)
    return out.detach().numpy().astype(np.float64), [np.array(rows[j * count:(j + 1) * count]) for j in range(x.shape[0])]


def lime_replay(net64, x, t, rows, mask):
    """Captum's Lime in float64 on the recorded draws: exp(−d²/2) kernel on the cosine distance of
    the flattened input and perturbed input, Lasso(alpha=0.01) with sample weights solved to a duality
    gap of LASSO_TOL · |y|²."""
    out = []
    for j, z in enumerate(rows):
        groups = np.arange(x[j].size).reshape(x[j].shape) if mask is None else mask[j]
        xj = x[j].astype(np.float64)
        present = z[:, groups.reshape(-1)].reshape((len(z),) + x[j].shape)
        inputs = present * xj
        with torch.no_grad():
            y = net64(torch.from_numpy(inputs))[:, int(t[j])].numpy()
        flat, pert = xj.reshape(-1), inputs.reshape(len(z), -1)
        norms = np.linalg.norm(flat) * np.linalg.norm(pert, axis=1)
        cos = np.where(norms > 0, pert @ flat / np.where(norms > 0, norms, 1), 0.0)
        w = np.exp(-((1 - cos) ** 2) / 2)
        model = Lasso(alpha=0.01, tol=LASSO_TOL, max_iter=1_000_000).fit(z.astype(np.float64), y, sample_weight=w)
        out.append(model.coef_[groups])
    return np.stack(out)


def main():
    os.makedirs(DST, exist_ok=True)
    np.savez(os.path.join(DST, "torch_draws.npz"), **torch_draws())
    for model, runs in RUNS.items():
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        mask = np.load(os.path.join(SRC, model, "feature_mask.npy"))
        np.save(os.path.join(out, "feature_mask.npy"), mask)
        net32, net64 = onnx2torch.convert(proto).float().eval(), onnx2torch.convert(proto).double().eval()
        cases = []
        methods = [("KernelShap", "KernelShap+captum", captum, replay, runs, "scikit-learn 1.9.1",
                    "Captum's own coalitions (recorded), replayed in float64 with the minimum-norm weighted least squares "
                    f"(singular values below {CUTOFF} of the largest cut)."),
                   ("Lime", "Lime+captum", lime_captum, lime_replay, LIME_RUNS[model], "scikit-learn 1.9.1 Lasso",
                    "Captum's own presence vectors (recorded), replayed in float64 with the exp(−d²/2) kernel of the cosine "
                    f"distance between input and perturbed input and Lasso(alpha=0.01) solved to a duality gap of {LASSO_TOL} · |y|² "
                    "(Captum's run stops at 1e-4 · |y|², in float32).")]
        for name, method, run, replay_fn, method_runs, solver, notes in methods:
            for cid, seed, n, use_mask in method_runs:
                m = mask if use_mask else None
                r32, rows = run(net32, x, targets, seed, n, m)
                ref = replay_fn(net64, x, targets, rows, m)
                params = {"n_samples": 25 if n is None else n, "seed": seed, "rng": "captum", "baselines": 0.0}
                if use_mask:
                    params["feature_mask"] = "feature_mask.npy"
                call = (f"torch.manual_seed({seed}); {name}(model).attribute(x, target, baselines=0.0"
                        + (", feature_mask=feature_mask" if use_mask else "") + ("" if n is None else f", n_samples={n}") + ")")
                cases.append(fixture_manifest.case(
                    out, cid, "model-agnostic", method, f"captum 0.9.0 (model via onnx2torch; {solver})",
                    params, ref, r32, "the target logit of every perturbed input", call + ": " + notes,
                    samples_per_example=len(rows[0]),
                    cross_seed_max_abs=float(np.abs(ref - run(net32, x, targets, seed + 100, n, m)[0]).max())))
        fixture_manifest.write(out, model, "../reference/" + model, "float64 replay of Captum's float32 draws", cases)


if __name__ == "__main__":
    main()
