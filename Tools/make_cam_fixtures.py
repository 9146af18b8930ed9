#!/usr/bin/env python3
"""Makes the CAM fixture set Tests/Fixtures/cam: the pytorch-grad-cam 1.5.7 variants beyond the
shared set's (GradCAMElementWise, EigenGradCAM, FEM, FinerCAM, KPCA_CAM, RandomCAM with numpy seeds, ShapleyCAM (ReST and logit targets), and FullGrad, and Captum's LayerGradCam without relu and/or
per channel — its scaled output, one
case per model) on the shared image models (via onnx2torch), on the
same layers as the shared CAM cases, in the shared set's format and conventions: the raw map
relu(get_cam_image(...)) before min-max scaling and resizing, shape (N, 1, h, w), for the targets
of targets.npy; computed in float64 from the float32 weights and inputs, stored as float32.
EigenGradCAM's projection is the sign-corrected one (`get_2d_projection_with_sign_correction` of
grads * activations: flipped when |min| > |max|), the shared set's Eigen-CAM convention.
FinerCAM runs sample by sample with `target_idx` = that sample's target (the peer takes one index
per call), so its main class and compared classes are FinerCAM's own choice for that target.

    pip install torch==2.5.1 onnx onnx2torch grad-cam==1.5.7 numpy
    python3 Tools/make_cam_fixtures.py [../shared/fixtures]
"""
import os
import sys

import numpy as np
import onnx2torch
import pytorch_grad_cam as pgc
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction

import fixture_manifest

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference")
DST = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "cam")
LAYERS = {
    "digits-cnn": [("conv3", "/conv3/Conv"), ("relu3", "/relu3/Relu")],
    "digits-resnet": [("conv2", "/block1/conv2/Conv"), ("relu2", "/block1/relu2/Relu")],
}
VARIANTS = {"gradcam_elementwise": "GradCAMElementWise", "eigengradcam": "EigenGradCAM", "fem": "FEM", "kpcacam": "KPCA_CAM"}
KPCA = [("kpcacam_rbf", {"kernel": "rbf", "gamma": 0.05}), ("kpcacam_poly", {"kernel": "poly", "gamma": 0.02})]
RANDOM_SEEDS = [0, 7]
# Captum's LayerGradCam beyond the shared set's relu_attributions=True, attr_dim_summation=True
# (Captum's own default is relu_attributions=False).
CAPTUM_GRADCAM = [(False, True, "captum_gradcam_norelu"), (True, False, "captum_gradcam_channels"),
                  (False, False, "captum_gradcam_channels_norelu")]
FINER = [("finercam", {}), ("finercam_alpha06_ranks12", {"alpha": 0.6, "comparison_categories": [1, 2]})]


def raw(proto, x, targets, node, method, dtype, np_seed=None, **options):
    net = onnx2torch.convert(proto).to(dtype).eval()
    layer = dict(net.named_modules())[node.strip("/")]
    cam = getattr(pgc, method)(model=net, target_layers=[layer], **options)
    outputs = cam.activations_and_grads(torch.from_numpy(x).to(dtype))
    goals = [ClassifierOutputTarget(int(t)) for t in targets]
    net.zero_grad()
    sum(g(o) for g, o in zip(goals, outputs)).backward(retain_graph=True)
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy()
    cam.activations_and_grads.release()
    if method == "EigenGradCAM":
        m = get_2d_projection_with_sign_correction(grads * acts)
    else:
        if np_seed is not None:
            np.random.seed(np_seed)   # RandomCAM: np.random.uniform(-1, 1, size=(N, C)) in get_cam_weights
        m = cam.get_cam_image(None, layer, goals, acts, grads, False)
    return np.maximum(m, 0)[:, None].astype(np.float64)


def finer(proto, x, targets, node, dtype, alpha=1.0, comparison_categories=(1, 2, 3)):
    """FinerCAM's raw map, one sample at a time with target_idx = the sample's target: the targets
    FinerCAM.forward builds, their backward pass, then its base GradCAM's get_cam_image."""
    from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget
    net = onnx2torch.convert(proto).to(dtype).eval()
    layer = dict(net.named_modules())[node.strip("/")]
    maps = []
    for i, t in enumerate(targets):
        fc = pgc.FinerCAM(model=net, target_layers=[layer])
        base = fc.base_cam
        outputs = base.activations_and_grads(torch.from_numpy(x[i:i + 1]).to(dtype))
        out = outputs.detach().cpu().numpy()
        order = np.argsort(np.abs(out - out[:, int(t)][:, None]), axis=-1)
        ranks = [c for c in comparison_categories if c < out.shape[-1]]
        goals = [FinerWeightedTarget(int(order[0, 0]), [int(order[0, c]) for c in ranks], alpha)]
        net.zero_grad()
        sum(g(o) for g, o in zip(goals, outputs)).backward(retain_graph=True)
        acts = base.activations_and_grads.activations[0].cpu().numpy()
        grads = base.activations_and_grads.gradients[0].cpu().numpy()
        base.activations_and_grads.release()
        maps.append(base.get_cam_image(None, layer, goals, acts, grads, False))
    return np.maximum(np.concatenate(maps), 0)[:, None].astype(np.float64)


def shapley(proto, x, targets, node, dtype, rest=True):
    """ShapleyCAM's raw map: its own call (the Hessian-vector product needs its create_graph
    backward) with scale_cam_image replaced by the identity, so the result is relu(get_cam_image)."""
    import pytorch_grad_cam.base_cam as base_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputReST
    net = onnx2torch.convert(proto).to(dtype).eval()
    layer = dict(net.named_modules())[node.strip("/")]
    cam = pgc.ShapleyCAM(model=net, target_layers=[layer])
    kept = base_cam.scale_cam_image
    base_cam.scale_cam_image = lambda c, target_size=None: np.asarray(c)
    # grad-cam 1.5.7's clear() detaches the stored tensors in place, which fails for a gradient that
    # is a view (a Relu output feeding Flatten) when the graph is kept (ShapleyCAM): drop them instead.
    aag = cam.activations_and_grads
    aag.clear = lambda: (aag.activations.clear(), aag.gradients.clear())
    try:
        goal = ClassifierOutputReST if rest else ClassifierOutputTarget
        m = cam(torch.from_numpy(x).to(dtype), [goal(int(t)) for t in targets])
    finally:
        base_cam.scale_cam_image = kept
        cam.activations_and_grads.release()
    return np.asarray(m)[:, None].astype(np.float64)


def captum_gradcam(proto, x, targets, node, dtype, relu, summed):
    """Captum 0.9.0 LayerGradCam with the given relu_attributions and attr_dim_summation."""
    from captum.attr import LayerGradCam
    net = onnx2torch.convert(proto).to(dtype).eval()
    layer = dict(net.named_modules())[node.strip("/")]
    a = LayerGradCam(net, layer).attribute(torch.from_numpy(x).to(dtype), target=[int(t) for t in targets],
                                           relu_attributions=relu, attr_dim_summation=summed)
    return a.detach().numpy().astype(np.float64)


def fullgrad(proto, x, targets, dtype):
    """pytorch-grad-cam's FullGrad output (every Conv2d with a bias and every BatchNorm2d), (N, 1, H, W)."""
    net = onnx2torch.convert(proto).to(dtype).eval()
    cam = pgc.FullGrad(model=net, target_layers=[])
    m = cam(torch.from_numpy(x).to(dtype), [ClassifierOutputTarget(int(t)) for t in targets])
    cam.activations_and_grads.release()
    return m[:, None].astype(np.float64)


def main():
    for model, layers in LAYERS.items():
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        cases = []
        for tag, node in layers:
            for cid, method in VARIANTS.items():
                ref, r32 = raw(proto, x, targets, node, method, torch.float64), raw(proto, x, targets, node, method, torch.float32)
                cases.append(fixture_manifest.case(
                    out, f"{cid}_{tag}_raw", "cam", method, "pytorch-grad-cam 1.5.7 (model via onnx2torch)",
                    {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_on_map": True,
                     "normalised": False, "upsampled": False}, ref, r32,
                    "output gradient = one-hot(target) on the logits",
                    f"pytorch-grad-cam {method}: relu(cam) before its min-max scaling and resizing."))
            for seed in RANDOM_SEEDS:
                ref, r32 = (raw(proto, x, targets, node, "RandomCAM", d, np_seed=seed) for d in (torch.float64, torch.float32))
                cases.append(fixture_manifest.case(
                    out, f"randomcam_seed{seed}_{tag}_raw", "cam", "RandomCAM", "pytorch-grad-cam 1.5.7 (model via onnx2torch), numpy legacy generator",
                    {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_on_map": True,
                     "normalised": False, "upsampled": False, "np_seed": seed}, ref, r32,
                    "none (random weights, independent of the target)",
                    f"pytorch-grad-cam RandomCAM after np.random.seed({seed}): weights np.random.uniform(-1, 1, size=(N, C)); relu(cam) "
                    "before its min-max scaling and resizing."))
            for form in ("rest", "logit"):
                ref, r32 = (shapley(proto, x, targets, node, d, rest=form == "rest") for d in (torch.float64, torch.float32))
                cases.append(fixture_manifest.case(
                    out, f"shapleycam_{form}_{tag}_raw", "cam", "ShapleyCAM", "pytorch-grad-cam 1.5.7 (model via onnx2torch)",
                    {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_on_map": True,
                     "normalised": False, "upsampled": False, "target_form": form}, ref, r32,
                    "ClassifierOutputReST(target): z_t - cross_entropy(z, t)" if form == "rest" else "ClassifierOutputTarget(target): z_t",
                    "pytorch-grad-cam ShapleyCAM: weights = mean_ij(grads - 0.5 * hvp), hvp = autograd.grad(grads, activations, "
                    "grad_outputs=activations); relu(cam) before its min-max scaling and resizing (scale_cam_image replaced by the identity)."))
            for relu, summed, cid in CAPTUM_GRADCAM:
                ref, r32 = (captum_gradcam(proto, x, targets, node, d, relu, summed) for d in (torch.float64, torch.float32))
                cases.append(fixture_manifest.case(
                    out, f"{cid}_{tag}_raw", "cam", "LayerGradCam", "captum 0.9.0 (model via onnx2torch)",
                    {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_attributions": relu,
                     "attr_dim_summation": summed, "upsample": None}, ref, r32,
                    "output gradient = one-hot(target) on the logits",
                    f"captum LayerGradCam(relu_attributions={relu}, attr_dim_summation={summed}): "
                    + ("sum_c " if summed else "the per-channel terms ") + "mean_hw(dF_t/dA_c) * A_c" + (", relu" if relu else ", no relu")
                    + f"; shape (N, {1 if summed else 'C'}, h, w)."))
            for cid, options in KPCA:
                ref, r32 = (raw(proto, x, targets, node, "KPCA_CAM", d, **options) for d in (torch.float64, torch.float32))
                cases.append(fixture_manifest.case(
                    out, f"{cid}_{tag}_raw", "cam", "KPCA_CAM", "pytorch-grad-cam 1.5.7 (model via onnx2torch), scikit-learn 1.9.1 KernelPCA",
                    {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_on_map": True,
                     "normalised": False, "upsampled": False, **options}, ref, r32,
                    "none (class-agnostic)", f"pytorch-grad-cam KPCA_CAM(kernel={options['kernel']!r}, gamma={options['gamma']}): relu(cam) before "
                    "its min-max scaling and resizing."))
            for cid, options in FINER:
                ref, r32 = (finer(proto, x, targets, node, d, **options) for d in (torch.float64, torch.float32))
                params = {"layer": node.strip("/"), "onnx_node": node, "onnx_tensor": node + "_output_0", "relu_on_map": True,
                          "normalised": False, "upsampled": False, "alpha": options.get("alpha", 1.0),
                          "comparison": list(options.get("comparison_categories", [1, 2, 3]))}
                cases.append(fixture_manifest.case(
                    out, f"{cid}_{tag}_raw", "cam", "FinerCAM", "pytorch-grad-cam 1.5.7 (model via onnx2torch)", params, ref, r32,
                    "output gradient = dT/dlogits, T = FinerWeightedTarget(main, compared, alpha) of the logits (softmax weights differentiated)",
                    "pytorch-grad-cam FinerCAM (base GradCAM), called per sample with target_idx = the sample's target: main = the class "
                    "nearest the target's logit, compared = the classes at ranks `comparison` of np.argsort(|y - y_target|); relu(cam) "
                    "before its min-max scaling and resizing."))
        ref, r32 = fullgrad(proto, x, targets, torch.float64), fullgrad(proto, x, targets, torch.float32)
        cases.append(fixture_manifest.case(
            out, "fullgrad", "cam", "FullGrad", "pytorch-grad-cam 1.5.7 (model via onnx2torch)", {"target_layers": "every Conv2d with a bias and every BatchNorm2d"},
            ref, r32, "output gradient = one-hot(target) on the logits",
            "pytorch-grad-cam FullGrad: its output, scaled to [0, 1] per sample and at the input's size (the method's own scaling)."))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "pytorch-grad-cam 1.5.7 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
