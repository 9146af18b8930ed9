#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/noise: Captum 0.9.0's NoiseTunnel (SmoothGrad, SmoothGrad²,
VarGrad) with its own noise — `torch.manual_seed(S)` right before `attribute`, which draws one
`torch.normal(0, stdevs)` over all `N × nt_samples` copies (sample by sample) — on the shared cancer
MLP and digits CNN (copied from ../reference; onnx2torch), in the shared set's format.

The float32 run is Captum's own; the reference replays it in float64 with the same float32 noise
(what differs between the two is arithmetic, not the draws: a float64 NoiseTunnel would draw other
numbers, torch's double normals take 53-bit uniforms). Tolerances: 20 times their difference.
`torch_randn.npz`: `torch.manual_seed(S); torch.randn(n)` for a few S and n (checks the normals).

Also GradientShap and LayerGradientShap after `np.random.seed(S); torch.manual_seed(S)`: baselines by
`np.random.choice`, noise by `torch.normal`, α by `np.random.uniform` (cast to float32); the
reference replays those draws in float64. ExplainKit: `gradient_shap` / `layer_gradient_shap`
`--set rng=captum --set seed=S`. Baselines: `baselines.npy` (zeros, the batch mean, the batch minimum).

shap 0.51.0's GradientExplainer with `rseed=S` (numpy's draws; `gradient_shap --set rng=numpy`).

And zennit 0.5.1's SmoothGrad attributor after `torch.manual_seed(S)`: one `torch.randn_like(x)` per
iteration but the last (which is noise-free), σ = noise_level · (max − min) per sample; plain and
with the EpsilonPlusFlat composite (digits-cnn). ExplainKit: `smoothgrad --set rng=zennit`.
ExplainKit: `smoothgrad | smoothgrad.squared | vargrad --set base=… --set samples=K --set stdev=σ
--set rng=torch --set seed=S`.

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 numpy
    python3 Tools/make_noise_tunnel_fixtures.py
"""
import os

import numpy as np
import onnx2torch
import torch
from captum.attr import GradientShap, InputXGradient, LayerGradientShap, NoiseTunnel, Saliency

import fixture_manifest

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "reference")
DST = os.path.join(HERE, "..", "Tests", "Fixtures", "noise")
# (case id, nt_type, base, abs, nt_samples, stdev, seed)
RUNS = [("smoothgrad_gradient_seed0", "smoothgrad", "Saliency", False, 8, 0.3, 0),
        ("smoothgrad_sq_input_x_gradient_seed3", "smoothgrad_sq", "InputXGradient", None, 5, 0.5, 3),
        ("vargrad_saliency_seed1", "vargrad", "Saliency", True, 6, 2.0, 1)]


def captum(net, x, t, nt_type, base, absolute, k, stdev, seed):
    method = Saliency(net) if base == "Saliency" else InputXGradient(net)
    extra = {} if absolute is None else {"abs": absolute}
    torch.manual_seed(seed)
    return NoiseTunnel(method).attribute(x, nt_type=nt_type, nt_samples=k, stdevs=stdev, target=t, **extra).detach().numpy()


def replay(net, x, t, nt_type, base, absolute, k, stdev, seed):
    """NoiseTunnel in float64 with Captum's float32 draws."""
    torch.manual_seed(seed)
    size = (x.shape[0] * k,) + tuple(x.shape[1:])
    noise = torch.normal(0, torch.tensor(stdev).repeat(size)).double()
    xs = (x.double().repeat_interleave(k, dim=0) + noise).requires_grad_(True)
    out = net(xs)
    out.gather(1, t.repeat_interleave(k)[:, None]).sum().backward()
    g = xs.grad
    a = g.abs() if (base == "Saliency" and absolute) else g * xs.detach() if base == "InputXGradient" else g
    a = a.reshape((x.shape[0], k) + tuple(x.shape[1:]))
    mean, sq = a.mean(1), (a * a).mean(1)
    return {"smoothgrad": mean, "smoothgrad_sq": sq, "vargrad": sq - mean * mean}[nt_type].detach().numpy()


SHAP_RUNS = [("gradient_shap_seed0", None, 6, 0.0, 0), ("gradient_shap_noise_seed5", None, 4, 0.1, 5)]
LAYER_SHAP = {"digits-cnn": "/conv3/Conv", "cancer-mlp": "/relu1/Relu"}


def shap_captum(net, x, t, baselines, layer, k, stdev, seed):
    np.random.seed(seed)
    torch.manual_seed(seed)
    method = GradientShap(net) if layer is None else LayerGradientShap(net, dict(net.named_modules())[layer.strip("/")])
    return method.attribute(x, baselines=baselines, n_samples=k, stdevs=stdev, target=t).detach().numpy()


def shap_replay(net, x, t, baselines, layer, k, stdev, seed):
    """Captum's GradientShap draws, replayed in float64."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    n = x.shape[0]
    index = np.random.choice(baselines.shape[0], n * k).tolist()
    noise = torch.normal(0, torch.tensor(stdev).repeat((n * k,) + tuple(x.shape[1:])))
    noisy = (x.repeat_interleave(k, dim=0) + noise).double()
    alpha = torch.tensor(np.random.uniform(0.0, 1.0, n * k), dtype=torch.float32).double().view((-1,) + (1,) * (x.dim() - 1))
    b = baselines.double()[index]
    point = (alpha * noisy + (1 - alpha) * b).requires_grad_(True)
    tt = t.repeat_interleave(k)
    if layer is None:
        net(point).gather(1, tt[:, None]).sum().backward()
        a = (noisy - b) * point.grad
    else:
        module = dict(net.named_modules())[layer.strip("/")]
        seen = []
        hook = module.register_forward_hook(lambda m, i, o: seen.append(o))
        out = net(point)
        act = seen[-1]
        g = torch.autograd.grad(out.gather(1, tt[:, None]).sum(), act)[0]
        with torch.no_grad():
            seen.clear(); net(noisy); a_x = seen[-1]
            seen.clear(); net(b); a_b = seen[-1]
        hook.remove()
        a = (a_x - a_b) * g
    return a.reshape((n, k) + tuple(a.shape[1:])).mean(1).detach().numpy()


def zennit_run(net, x, t, k, level, seed, composite, classes):
    from zennit.attribution import SmoothGrad
    from zennit.composites import EpsilonPlusFlat
    onehot = torch.eye(classes, dtype=x.dtype)[t]
    torch.manual_seed(seed)
    with SmoothGrad(net, composite=EpsilonPlusFlat() if composite else None, noise_level=level, n_iter=k) as attributor:
        _, relevance = attributor(x, onehot)
    return relevance.detach().numpy()


def zennit_replay(net64, x, t, k, level, seed, composite, classes):
    """zennit's SmoothGrad draws (float32), each copy attributed in float64 and averaged."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat
    dims = tuple(range(1, x.ndim))
    std = level * (x.amax(dims, keepdim=True) - x.amin(dims, keepdim=True))
    torch.manual_seed(seed)
    copies = [x + torch.randn_like(x) * std for _ in range(k - 1)] + [x]
    onehot = torch.eye(classes, dtype=torch.float64)[t]
    total = 0
    with Gradient(net64, composite=EpsilonPlusFlat() if composite else None) as attributor:
        for c in copies:
            _, relevance = attributor(c.double(), onehot)
            total = total + relevance
    return (total / k).detach().numpy()


def gradient_explainer(proto, x, t, base, k, seed):
    """shap.GradientExplainer(model, background).shap_values(x, nsamples=k, rseed=seed), the target's
    column (float32: shap builds its samples in float32, so it cannot run a float64 model)."""
    import shap
    net = onnx2torch.convert(proto).float().eval()
    values = np.array(shap.GradientExplainer(net, torch.from_numpy(base)).shap_values(torch.from_numpy(x), nsamples=k, rseed=seed))
    return np.stack([values[i, ..., int(c)] for i, c in enumerate(t)]).astype(np.float64)


def gradient_explainer_replay(proto, x, t, base, k, seed):
    """The same draws in float64: np.random.seed(seed); per sample and copy np.random.choice, np.random.uniform."""
    net = onnx2torch.convert(proto).double().eval()
    np.random.seed(seed)
    out = []
    for j in range(x.shape[0]):
        rows, ts = [], []
        for _ in range(k):
            rows.append(np.random.choice(base.shape[0]))
            ts.append(np.random.uniform())
        xj = torch.from_numpy(x[j]).double()
        b = torch.from_numpy(base).double()[rows]
        tt = torch.tensor(ts, dtype=torch.float64).view((-1,) + (1,) * xj.dim())
        point = (tt * xj + (1 - tt) * b).requires_grad_(True)
        net(point)[:, int(t[j])].sum().backward()
        out.append(((xj - b) * point.grad).mean(0).detach().numpy())
    return np.stack(out)


def main():
    draws = {}
    for seed in (0, 11):
        for n in (16, 37, 100):
            torch.manual_seed(seed)
            draws[f"s{seed}_n{n}"] = torch.randn(n).numpy()
    os.makedirs(DST, exist_ok=True)
    np.savez(os.path.join(DST, "torch_randn.npz"), **draws)
    for model in ("cancer-mlp", "digits-cnn"):
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        net32, net64 = onnx2torch.convert(proto).float().eval(), onnx2torch.convert(proto).double().eval()
        t = torch.from_numpy(targets)
        cases = []
        for cid, nt_type, base, absolute, k, stdev, seed in RUNS:
            r32 = captum(net32, torch.from_numpy(x), t, nt_type, base, absolute, k, stdev, seed).astype(np.float64)
            ref = replay(net64, torch.from_numpy(x), t, nt_type, base, absolute, k, stdev, seed)
            params = {"nt_type": nt_type, "base": base, "nt_samples": k, "stdevs": stdev, "seed": seed, "rng": "torch"}
            if absolute is not None:
                params["abs"] = absolute
            cases.append(fixture_manifest.case(
                out, cid, "gradient", "NoiseTunnel", "captum 0.9.0 (model via onnx2torch)", params, ref, r32,
                "output gradient = one-hot(target) on the logits of every noisy copy",
                f"torch.manual_seed({seed}); NoiseTunnel({base}(model)).attribute(x, nt_type={nt_type!r}, nt_samples={k}, stdevs={stdev}"
                + ("" if absolute is None else f", abs={absolute}") + ", target): noise = torch.normal(0, stdev) over all N × nt_samples "
                "copies at once, copy j of sample s at row s · nt_samples + j. Reference: the same float32 draws replayed in float64."))
        base = np.stack([np.zeros_like(x[0]), x.mean(axis=0), np.full_like(x[0], x.min())]).astype(np.float32)
        np.save(os.path.join(out, "baselines.npy"), base)
        runs = [(cid, None, k, sd, seed) for cid, _, k, sd, seed in SHAP_RUNS]
        runs.append((f"layer_gradient_shap_{LAYER_SHAP[model].strip('/').split('/')[0]}_seed1", LAYER_SHAP[model], 5, 0.1, 1))
        for cid, layer, k, stdev, seed in runs:
            r32 = shap_captum(net32, torch.from_numpy(x), t, torch.from_numpy(base), layer, k, stdev, seed).astype(np.float64)
            ref = shap_replay(net64, torch.from_numpy(x), t, torch.from_numpy(base), layer, k, stdev, seed)
            params = {"baselines": "baselines.npy", "n_samples": k, "stdevs": stdev, "seed": seed, "rng": "captum"}
            if layer is not None:
                params.update({"layer": layer.strip("/"), "onnx_node": layer, "onnx_tensor": layer + "_output_0"})
            cases.append(fixture_manifest.case(
                out, cid, "reference" if layer is None else "layer", "GradientShap+captum" if layer is None else "LayerGradientShap+captum",
                "captum 0.9.0 (model via onnx2torch)", params, ref, r32, "output gradient = one-hot(target) on the logits of every copy",
                f"np.random.seed({seed}); torch.manual_seed({seed}); {'GradientShap' if layer is None else 'LayerGradientShap'}(model"
                + ("" if layer is None else f", {layer}") + f").attribute(x, baselines=baselines.npy, n_samples={k}, stdevs={stdev}, target). "
                "Reference: Captum's draws replayed in float64."))
        for cid, k, seed in [("shap_gradient_explainer_seed3", 6, 3)]:
            ref, r32 = gradient_explainer_replay(proto, x, targets, base, k, seed), gradient_explainer(proto, x, targets, base, k, seed)
            cases.append(fixture_manifest.case(
                out, cid, "reference", "shap GradientExplainer", "shap 0.51.0 (model via onnx2torch)",
                {"baselines": "baselines.npy", "nsamples": k, "rseed": seed, "rng": "numpy"}, ref, r32,
                "output gradient = one-hot(target) on the logits of every copy",
                f"shap.GradientExplainer(model, baselines.npy).shap_values(x, nsamples={k}, rseed={seed}), the target's column: "
                "np.random.seed(rseed), then per sample and copy a background row by np.random.choice and t = np.random.uniform(); "
                "the gradient at t x + (1 - t) x0 times x - x0, averaged. Reference: shap's draws replayed in float64."))
        classes = int(np.load(os.path.join(out, "logits.npy")).shape[1])
        zruns = [("zennit_smoothgrad_seed2", 6, 0.1, 2, False)] + ([("zennit_smoothgrad_epsilon_plus_flat_seed4", 5, 0.2, 4, True)] if model == "digits-cnn" else [])
        for cid, k, level, seed, composite in zruns:
            r32 = zennit_run(net32, torch.from_numpy(x), t, k, level, seed, composite, classes).astype(np.float64)
            ref = zennit_replay(net64, torch.from_numpy(x), t, k, level, seed, composite, classes)
            params = {"n_iter": k, "noise_level": level, "seed": seed, "rng": "zennit", "composite": "EpsilonPlusFlat" if composite else None}
            cases.append(fixture_manifest.case(
                out, cid, "gradient" if not composite else "lrp", "zennit SmoothGrad", "zennit 0.5.1 (model via onnx2torch)", params, ref, r32,
                "output gradient = one-hot(target) on the logits of every copy",
                f"torch.manual_seed({seed}); zennit.attribution.SmoothGrad(model, composite={'EpsilonPlusFlat()' if composite else None}, "
                f"noise_level={level}, n_iter={k})(x, one-hot(target)): copies x + randn_like(x) * noise_level * (max - min) per sample, "
                "the last one without noise. Reference: the same float32 draws, each copy attributed in float64."))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "Captum's float32 draws replayed in float64 (float32 run: Captum's own), stored as float32", cases)


if __name__ == "__main__":
    main()
