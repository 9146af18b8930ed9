#!/usr/bin/env python3
"""Makes the layer-attribution fixture set Tests/Fixtures/layer (same format as the shared
reference fixtures, ../shared/fixtures/README.md): Captum's layer methods on the three shared
models, computed in float64 from their float32 weights and inputs. Run once; the outputs are
committed and CI never needs torch.

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 matplotlib tqdm
    python3 Tools/make_layer_fixtures.py [../shared/fixtures]

Each model folder gets copies of model.onnx, input.npy, targets.npy and logits.npy from the
shared set, a manifest.json and one .npy per case. Tolerances: rtol/atol are 20 times the
difference between Captum in float32 and in float64 (at least 1e-5 / 1e-6).
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnx2torch
import torch
from captum.attr import LRP
from captum.attr import (InternalInfluence, LayerActivation, LayerConductance, LayerDeepLift, LayerDeepLiftShap,
                         LayerFeatureAblation, LayerGradientXActivation, LayerIntegratedGradients, LayerLRP,
                         NeuronConductance, NeuronDeconvolution, NeuronDeepLift, NeuronDeepLiftShap, NeuronFeatureAblation,
                         NeuronGradient, NeuronGuidedBackprop, NeuronIntegratedGradients)

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures")
DST = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "layer")

# Per model: (ONNX node, why this layer).
LAYERS = {
    "digits-cnn": [("/conv3/Conv", "last Conv, before its Relu"), ("/relu4/Relu", "hidden Dense layer after its Relu")],
    "digits-resnet": [("/block1/relu1/Relu", "inside the residual block (the skip path keeps the input's values)"),
                      ("/block1/relu2/Relu", "after the residual Add and its Relu")],
    "cancer-mlp": [("/relu1/Relu", "first hidden layer after its Relu"),
                   ("/fc1/Gemm", "first Dense layer (LayerLRP only)"), ("/fc2/Gemm", "second Dense layer (LayerLRP only)")],
}
# Captum's LRP has rules only for Linear/Conv/pooling/BatchNorm modules (none for ReLU outputs, and
# it fails on Flatten), so LayerLRP is computed on the MLP's Dense layers only.
LRP_ONLY = {"/fc1/Gemm", "/fc2/Gemm"}
CHANNEL_ABLATION = {"/conv3/Conv", "/block1/relu1/Relu"}

# Neuron methods (the input attributed to one neuron of an inner layer): per model (ONNX node, the
# neuron as Captum's selector, i.e. an index tuple into one sample's layer output).
NEURONS = {
    "digits-cnn": [("/conv3/Conv", (3, 4, 5)), ("/relu4/Relu", (8,))],
    "digits-resnet": [("/block1/relu1/Relu", (2, 3, 6))],
    "cancer-mlp": [("/relu1/Relu", (5,))],
}


def neuron_cases():
    steps = 16
    return [
        ("gradient", NeuronGradient, {}, {}, "NeuronGradient: d A_neuron / d x."),
        ("integrated_gradients_gausslegendre_16", NeuronIntegratedGradients, {},
         {"baselines": 0.0, "n_steps": steps, "method": "gausslegendre"},
         "NeuronIntegratedGradients: Integrated Gradients of the neuron's value (x0 = 0)."),
        ("deeplift", NeuronDeepLift, {}, {"baselines": 0.0},
         "NeuronDeepLift: DeepLIFT (Rescale at every Relu before the neuron) of the neuron's value, x0 = 0."),
        ("guided_backprop", NeuronGuidedBackprop, {}, {}, "NeuronGuidedBackprop: guided backprop from the neuron."),
        ("deconvolution", NeuronDeconvolution, {}, {}, "NeuronDeconvolution: deconvnet from the neuron."),
        ("deeplift_shap", NeuronDeepLiftShap, {}, {"baselines": "baselines.npy"},
         "NeuronDeepLiftShap: NeuronDeepLift averaged over the 3 baselines of baselines.npy."),
        ("feature_ablation", NeuronFeatureAblation, {}, {"baselines": 0.0, "feature_mask": "feature_mask.npy"},
         "NeuronFeatureAblation: the neuron's value on x minus its value with one group of feature_mask.npy "
         "(the shared set's FeatureAblation groups) set to 0."),
        ("conductance_riemann_trapezoid_16", NeuronConductance, {}, {"baselines": 0.0, "n_steps": steps, "method": "riemann_trapezoid"},
         "NeuronConductance: how the input features drive the target logit through the neuron: "
         "(x - x0) * sum_k w_k (d f_t / d y_n)(x_k) (d y_n / dx)(x_k) (explains the target logit, not the neuron)."),
    ]


def cases_for(node, why):
    """(case id suffix, Captum class, constructor kwargs, attribute kwargs, params, notes)."""
    steps = 16
    base = {"baselines": 0.0}
    if node in LRP_ONLY:
        return [("lrp_epsilon", LayerLRP, {}, {}, {"rule": "EpsilonRule", "epsilon": 1e-9},
                 "LayerLRP with Captum's default EpsilonRule (epsilon 1e-9) at every layer: the relevance at the layer's output, "
                 "starting from the target logit.")]
    return [
        ("activation", LayerActivation, {}, {}, {},
         "LayerActivation: the layer's output A(x)."),
        ("gradient_x_activation", LayerGradientXActivation, {}, {}, {"multiply_by_inputs": True},
         "LayerGradientXActivation: A(x) * d f_t / dA."),
        ("gradient", LayerGradientXActivation, {"multiply_by_inputs": False}, {}, {"multiply_by_inputs": False},
         "LayerGradientXActivation(multiply_by_inputs=False): d f_t / dA."),
        ("internal_influence_gausslegendre_16", InternalInfluence, {}, dict(base, n_steps=steps, method="gausslegendre"),
         {"baseline": 0.0, "n_steps": steps, "method": "gausslegendre"},
         "InternalInfluence: sum_k w_k dF_t/dA at x0 + a_k (x - x0) (input-space path), not multiplied."),
        ("conductance_gausslegendre_16", LayerConductance, {}, dict(base, n_steps=steps, method="gausslegendre"),
         {"baseline": 0.0, "n_steps": steps, "method": "gausslegendre"},
         "LayerConductance: n+1 points a_0..a_n of the rule for n+1 steps; sum_{k<n} dF_t/dA(x_k) * (A(x_{k+1}) - A(x_k))."),
        ("conductance_riemann_trapezoid_16", LayerConductance, {}, dict(base, n_steps=steps, method="riemann_trapezoid"),
         {"baseline": 0.0, "n_steps": steps, "method": "riemann_trapezoid"},
         "LayerConductance with riemann_trapezoid points (0 and 1 included, so the sum telescopes to completeness)."),
        ("integrated_gradients_gausslegendre_16", LayerIntegratedGradients, {}, dict(base, n_steps=steps, method="gausslegendre"),
         {"baseline": 0.0, "n_steps": steps, "method": "gausslegendre"},
         "LayerIntegratedGradients: path in the layer's output space from A(x0) to A(x); every other value "
         "the rest of the network reads (a skip connection) comes from x; (A(x) - A(x0)) * sum_k w_k dF_t/dA."),
        ("integrated_gradients_riemann_right_16", LayerIntegratedGradients, {}, dict(base, n_steps=steps, method="riemann_right"),
         {"baseline": 0.0, "n_steps": steps, "method": "riemann_right"},
         "LayerIntegratedGradients with riemann_right."),
        ("deeplift", LayerDeepLift, {}, dict(base), {"baseline": 0.0, "multiply_by_inputs": True},
         "LayerDeepLift (Rescale at every Relu after the layer): (A(x) - A(x0)) * multiplier at A."),
        ("deeplift_shap", LayerDeepLiftShap, {}, {}, {"baselines": "baselines.npy"},
         "LayerDeepLiftShap: LayerDeepLift averaged over the 3 baselines of baselines.npy."),
        ("feature_ablation", LayerFeatureAblation, {}, {}, {"layer_baselines": 0.0, "per": "neuron"},
         "LayerFeatureAblation: f_t(x) - f_t(x with one neuron of A set to 0), per neuron; the rest of the network sees x."),
    ] + ([("feature_ablation_channels", LayerFeatureAblation, {}, {"layer_mask": "channels"}, {"layer_baselines": 0.0, "per": "channel"},
           "LayerFeatureAblation with layer_mask = channel index (1, C, 1, 1): whole channels set to 0.")]
         if node in CHANNEL_ABLATION else [])


def run(cls, net, layer, ctor, attr, x, t, baselines=None):
    if cls is LayerActivation:
        return cls(net, layer).attribute(x)
    if cls is LayerDeepLiftShap:
        return cls(net, layer).attribute(x, baselines=baselines.to(x.dtype), target=t)
    if cls is LayerFeatureAblation:
        mask = None
        if attr.get("layer_mask") == "channels":
            channels = LayerActivation(net, layer).attribute(x[:1]).shape[1]
            mask = torch.arange(channels).view(1, channels, 1, 1)
        return cls(net, layer).attribute(x, target=t, layer_baselines=0.0, layer_mask=mask)
    if cls is LayerDeepLift:
        return cls(net, layer, **ctor).attribute(x, target=t, **attr)
    return cls(net, layer, **ctor).attribute(x, target=t, **attr)


def rel_l2(a, ref):
    """Max over samples of ||a - ref|| / ||ref|| (the fixtures' comparison)."""
    return max(np.linalg.norm((a - ref)[i]) / max(np.linalg.norm(ref[i]), 1e-30) for i in range(ref.shape[0]))


def precision(low, ref):
    """Tolerance and diagnostics from Captum's own float32-vs-float64 difference."""
    rel, mabs = rel_l2(low, ref), float(np.abs(low - ref).max())
    return ({"rtol": max(1e-5, 20 * rel), "atol": max(1e-6, 20 * mabs)},
            {"float32_vs_float64": {"rel_l2_max": rel, "max_abs": mabs}, "max_abs_reference": float(np.abs(ref).max())})


def main():
    torch.manual_seed(0)
    for model_id, layers in LAYERS.items():
        src, dst = os.path.join(SRC, model_id), os.path.join(DST, model_id)
        os.makedirs(dst, exist_ok=True)
        for f in ["model.onnx", "input.npy", "targets.npy", "logits.npy", "feature_mask.npy"]:
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
        proto = onnx.load(os.path.join(src, "model.onnx"))
        tensor_of = {n.name: n.output[0] for n in proto.graph.node}
        x32 = torch.from_numpy(np.load(os.path.join(src, "input.npy")))
        # Three reference inputs for the SHAP cases: zeros, the batch mean, and the batch minimum everywhere.
        b = np.stack([np.zeros_like(x32[0].numpy()), x32.numpy().mean(axis=0), np.full_like(x32[0].numpy(), x32.numpy().min())])
        np.save(os.path.join(dst, "baselines.npy"), b.astype(np.float32))
        baselines = torch.from_numpy(b.astype(np.float32))
        targets = torch.from_numpy(np.load(os.path.join(src, "targets.npy")))
        nets = {}
        for dtype in (torch.float64, torch.float32):
            net = onnx2torch.convert(proto).to(dtype).eval()
            nets[dtype] = (net, dict(net.named_modules()))
        cases = []
        for node, why in layers:
            short = node.strip("/").replace("/", "_").lower()
            for suffix, cls, ctor, attr, params, notes in cases_for(node, why):
                results = {}
                for dtype, (net, modules) in nets.items():
                    layer = modules[node.strip("/")]
                    results[dtype] = run(cls, net, layer, ctor, attr, x32.to(dtype), targets, baselines).detach().numpy()
                ref, low = results[torch.float64], results[torch.float32]
                tolerance, diagnostics = precision(low, ref)
                case_id = f"layer_{suffix}_{short}"
                np.save(os.path.join(dst, case_id + ".npy"), ref.astype(np.float32))
                cases.append({
                    "id": case_id, "family": "layer", "method": cls.__name__, "peer": "captum 0.9.0 (model via onnx2torch)",
                    "params": dict(params, layer=node.strip("/"), onnx_node=node, onnx_tensor=tensor_of[node]),
                    "output": case_id + ".npy", "output_shape": list(ref.shape),
                    "start_relevance": "output gradient = one-hot(target) on the logits",
                    "tolerance": tolerance,
                    "notes": f"{notes} Layer: {why}.",
                    "diagnostics": diagnostics,
                })
                print(f"{model_id} {case_id}: shape {ref.shape}, f32 vs f64 rel {diagnostics['float32_vs_float64']['rel_l2_max']:.2e}")
        if model_id == "cancer-mlp":
            # Captum's LRP (input attribution) with its default rules; it cannot run on the image
            # models (no rule for Flatten), so the MLP only.
            results = {dtype: LRP(net).attribute(x32.to(dtype), target=targets).detach().numpy() for dtype, (net, _) in nets.items()}
            ref, low = results[torch.float64], results[torch.float32]
            tolerance, diagnostics = precision(low, ref)
            np.save(os.path.join(dst, "lrp_captum_default.npy"), ref.astype(np.float32))
            cases.append({
                "id": "lrp_captum_default", "family": "lrp", "method": "LRP", "peer": "captum 0.9.0 (model via onnx2torch)",
                "params": {"rule": "EpsilonRule", "epsilon": 1e-9}, "output": "lrp_captum_default.npy", "output_shape": list(ref.shape),
                "start_relevance": "the target logit", "tolerance": tolerance,
                "notes": "Captum LRP with its default rules: EpsilonRule (epsilon 1e-9) at every Linear layer, ReLU passed through.",
                "diagnostics": diagnostics,
            })
            print(f"{model_id} lrp_captum_default: shape {ref.shape}")
        for node, neuron in NEURONS.get(model_id, []):
            short = node.strip("/").replace("/", "_").lower()
            for suffix, cls, ctor, attr, notes in neuron_cases():
                results = {}
                for dtype, (net, modules) in nets.items():
                    layer = modules[node.strip("/")]
                    extra = {"target": targets} if cls is NeuronConductance else {}
                    if cls is NeuronDeepLiftShap:
                        extra, kwargs = {"baselines": baselines.to(dtype)}, {}
                    elif cls is NeuronFeatureAblation:
                        mask = torch.from_numpy(np.load(os.path.join(src, "feature_mask.npy")))
                        extra, kwargs = {"baselines": 0.0, "feature_mask": mask}, {}
                    else:
                        kwargs = attr
                    results[dtype] = cls(net, layer, **ctor).attribute(x32.to(dtype), neuron_selector=neuron, **kwargs, **extra).detach().numpy()
                ref, low = results[torch.float64], results[torch.float32]
                tolerance, diagnostics = precision(low, ref)
                net64, modules64 = nets[torch.float64]
                shape = LayerActivation(net64, modules64[node.strip("/")]).attribute(x32[:1].double()).shape[1:]
                case_id = f"neuron_{suffix}_{short}_" + "_".join(map(str, neuron))
                np.save(os.path.join(dst, case_id + ".npy"), ref.astype(np.float32))
                params = {"layer": node.strip("/"), "onnx_tensor": tensor_of[node], "neuron_selector": list(neuron),
                          "neuron_index": int(np.ravel_multi_index(neuron, tuple(shape)))}
                if cls is not NeuronConductance:
                    params["neuron_node"] = tensor_of[node]   # the runner explains this neuron instead of the logits
                if "n_steps" in attr:
                    params.update({"n_steps": attr["n_steps"], "method": attr["method"], "baseline": 0.0})
                elif cls is NeuronDeepLiftShap:
                    params.update({"baselines": "baselines.npy"})
                elif cls is NeuronFeatureAblation:
                    params.update({"baselines": 0.0, "feature_mask": "feature_mask.npy"})
                elif "baselines" in attr:
                    params.update({"baseline": 0.0, "rule": "rescale", "multiply_by_inputs": True})
                cases.append({
                    "id": case_id, "family": "neuron", "method": cls.__name__, "peer": "captum 0.9.0 (model via onnx2torch)",
                    "params": params, "output": case_id + ".npy", "output_shape": list(ref.shape),
                    "start_relevance": "output gradient = one-hot at the neuron (same neuron for every sample)",
                    "tolerance": tolerance,
                    "notes": f"{notes} Neuron {neuron} of the output of {node}; params.neuron_index is its flat index in one sample.",
                    "diagnostics": diagnostics,
                })
                print(f"{model_id} {case_id}: shape {ref.shape}, f32 vs f64 rel {diagnostics['float32_vs_float64']['rel_l2_max']:.2e}")
        # How far each case is from its nearest other case (a check that can fail tells them apart).
        arrays = {c["id"]: np.load(os.path.join(dst, c["output"])).astype(np.float64) for c in cases}
        for c in cases:
            ref = arrays[c["id"]]
            others = [(rel_l2(arrays[o], ref), o) for o in arrays if o != c["id"] and arrays[o].shape == ref.shape]
            if others:
                d, o = min(others)
                c["diagnostics"]["nearest_other_case"] = {"id": o, "rel_l2": float(d)}
        manifest = {"model_id": model_id, "model": {"source": f"../shared/fixtures/{model_id}/model.onnx"},
                    "conventions": {"comparison": "per case: rel_l2 = max over samples of ||cand - ref|| / ||ref|| <= rtol AND max |cand - ref| <= atol",
                                    "references": "captum in float64 from the stored float32 weights and inputs, stored as float32"},
                    "cases": cases}
        with open(os.path.join(dst, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
