#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/permutation: Captum 0.9.0's FeaturePermutation,
LayerFeaturePermutation and ShapleyValueSampling (orders: `torch.randperm(M)` shared by the batch)
with their own draws — `torch.manual_seed(S)` right before `attribute`, then
one `torch.randperm(N)` per feature group (or layer unit), in order, drawn again while it is the
identity (LayerFeaturePermutation is given a forward that returns the target logit: with a target
it fails in Captum 0.9.0, which selects the target twice) — on the shared cancer MLP and digits CNN (copied from ../reference; converted with
onnx2torch), computed in float64 from the float32 weights and inputs (the same seed for both), in
the shared set's format. ExplainKit: `feature_permutation --set rng=torch --set seed=S` and
`layer_feature_permutation --set rng=torch --set seed=S`.

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 numpy
    python3 Tools/make_permutation_fixtures.py
"""
import os

import numpy as np
import onnx2torch
import torch
from captum.attr import FeaturePermutation, LayerActivation, LayerFeaturePermutation, ShapleyValueSampling

import fixture_manifest

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "reference")
DST = os.path.join(HERE, "..", "Tests", "Fixtures", "permutation")
RUNS = {
    # (case id, kind, seed, layer node or None, per, use the shared feature_mask.npy)
    "cancer-mlp": [("shapley_sampling_seed0_5", "shapley", 0, None, 5, False),
                   ("feature_permutation_seed0", "input", 0, None, None, False),
                   ("feature_permutation_seed7", "input", 7, None, None, False),
                   ("layer_feature_permutation_relu2_seed3", "layer", 3, "/relu2/Relu", "neuron", False)],
    "digits-cnn": [("shapley_sampling_mask_seed2_4", "shapley", 2, None, 4, True),
                   ("feature_permutation_mask_seed1", "input", 1, None, None, True),
                   ("layer_feature_permutation_conv3_seed2", "layer", 2, "/conv3/Conv", "neuron", False),
                   ("layer_feature_permutation_conv3_channels_seed4", "layer", 4, "/conv3/Conv", "channel", False)],
}


def attribute(proto, x, targets, kind, seed, node, per, mask, dtype):
    net = onnx2torch.convert(proto).to(dtype).eval()
    xs = torch.from_numpy(x).to(dtype)
    t = torch.from_numpy(targets)
    if kind == "input":
        torch.manual_seed(seed)
        return FeaturePermutation(net).attribute(xs, target=t, feature_mask=mask).detach().numpy()
    if kind == "shapley":
        torch.manual_seed(seed)
        return ShapleyValueSampling(net).attribute(xs, target=t, baselines=0.0, feature_mask=mask, n_samples=per).detach().numpy()
    layer = dict(net.named_modules())[node.strip("/")]
    layer_mask = None
    if per == "channel":
        channels = LayerActivation(net, layer).attribute(xs[:1]).shape[1]
        layer_mask = torch.arange(channels).view(1, channels, 1, 1)
    # Captum 0.9.0's LayerFeaturePermutation selects the target twice (its inner forward already
    # returns the selected outputs), so any target fails; the forward explains the target logit instead.
    logit = lambda a: net(a).gather(1, t[:, None])[:, 0]
    torch.manual_seed(seed)
    return LayerFeaturePermutation(logit, layer).attribute(xs, layer_mask=layer_mask).detach().numpy()


def main():
    for model, runs in RUNS.items():
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        tensor_of = {n.name: n.output[0] for n in proto.graph.node}
        mask = None
        if any(r[5] for r in runs):
            m = np.load(os.path.join(SRC, model, "feature_mask.npy"))
            np.save(os.path.join(out, "feature_mask.npy"), m)
            mask = torch.from_numpy(m)
        cases = []
        for cid, kind, seed, node, per, use_mask in runs:
            ref, r32 = (attribute(proto, x, targets, kind, seed, node, per, mask if use_mask else None, d).astype(np.float64)
                        for d in (torch.float64, torch.float32))
            params = {"rng": "torch", "seed": seed}
            if kind == "shapley":
                method = "ShapleyValueSampling+torch"
                params.update({"n_samples": per, "baselines": 0.0})
                if use_mask:
                    params["feature_mask"] = "feature_mask.npy"
                notes = (f"torch.manual_seed(seed); ShapleyValueSampling(model).attribute(x, target, baselines=0, n_samples={per}"
                         + (", feature_mask = feature_mask.npy" if use_mask else "") + "): the same torch.randperm(M) orders for every "
                         "sample; each group credited with the change it makes when added in order, averaged over the orders.")
            elif kind == "input":
                method = "FeaturePermutation"
                if use_mask:
                    params["feature_mask"] = "feature_mask.npy"
                notes = ("torch.manual_seed(seed); FeaturePermutation(model).attribute(x, target)"
                         + (", feature_mask = feature_mask.npy" if use_mask else " (every feature its own group)")
                         + ": per group in order, x with the group taken from sample perm[s] (torch.randperm(N), redrawn while the identity); "
                         "f_t(x) - f_t(permuted) on every element of the group.")
            else:
                method = "LayerFeaturePermutation"
                params.update({"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": tensor_of[node], "per": per})
                notes = (f"torch.manual_seed(seed); LayerFeaturePermutation(model, {node}).attribute(x, target"
                         + (", layer_mask = channel index (1, C, 1, 1)" if per == "channel" else "") + "): per layer unit in order, "
                         "the unit of sample s taken from sample perm[s]; f_t(x) - f_t(x with the unit permuted), shaped like the layer.")
            cases.append(fixture_manifest.case(out, cid, "layer" if kind == "layer" else "model_agnostic", method,
                                               "captum 0.9.0 (model via onnx2torch)", params, ref, r32, "the logit of targets.npy", notes))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "captum 0.9.0 in float64 from the float32 weights and inputs (same torch seed), stored as float32", cases)


if __name__ == "__main__":
    main()
