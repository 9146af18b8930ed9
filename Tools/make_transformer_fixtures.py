#!/usr/bin/env python3
"""Makes the transformer fixture set Tests/Fixtures/transformer: AttnLRP and CP-LRP computed by
LXT (LRP eXplains Transformers, `lxt` 2.1, the authors' library), and pytorch-grad-cam's CAM
variants on token layers, on two tiny torchvision VisionTransformers, in the format of the shared reference fixtures (per model: model.onnx,
input.npy, targets.npy, logits.npy, manifest.json and one .npy per case).

- CP-LRP is LXT's default map for torchvision's vision_transformer (identity rule at GELU, layer
  norm with its deviation detached, no gradient through the attention's query and key).
- AttnLRP uses the same identity and layer-norm rules and, inside nn.MultiheadAttention, the
  uniform rule of the paper through LXT's `divide_gradient`: query and key gradients divided by 4
  (two bilinear products on their path), value gradients by 2 — as LXT does for its language models.

Relevance is `x * x.grad` at the pixel input with the gradient seeded with one-hot(target) at the
logits (LXT's gradient × input form). References are computed in float64 from the float32 weights
and inputs and stored as float32; rtol/atol are 20 times the float32-vs-float64 difference (at least
1e-5 / 1e-6). Each variant runs in its own process, since LXT patches torch classes.

Run once; the outputs are committed and CI never needs torch or lxt.

    pip install torch==2.5.1 torchvision==0.20.1 onnx numpy zennit transformers==4.51.3 grad-cam==1.5.7
    pip install --no-deps lxt==2.1
    python3 Tools/make_transformer_fixtures.py
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import vision_transformer
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

import fixture_manifest

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "transformer")
MODELS = {
    # name: (seed, VisionTransformer arguments, samples)
    "vit-tiny": (2, dict(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5), 3),
    "vit-small": (5, dict(image_size=24, patch_size=6, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=48, num_classes=7), 3),
}
VARIANTS = {"cp_lrp": "LXT CP-LRP", "attnlrp": "LXT AttnLRP"}
NOTES = {
    "cp_lrp": "CP-LRP (Ali et al. 2022) as LXT's default map for torchvision ViT: GELU identity rule "
              "(gradient f(x)/(x + 1e-10)), LayerNorm with std detached, query and key of every MultiheadAttention "
              "detached (no gradient through the softmax); every other layer its plain gradient; R = x * grad.",
    "attnlrp": "AttnLRP (Achtibat et al. 2024): GELU identity rule, LayerNorm with std detached, uniform rule in "
               "MultiheadAttention via LXT's divide_gradient (query and key gradients / 4, value / 2: halved at each "
               "bilinear product on their path); softmax and every other layer their plain gradient; R = x * grad.",
}


def build(name):
    seed, args, n = MODELS[name]
    torch.manual_seed(seed)
    model = VisionTransformer(**args).eval()
    with torch.no_grad():
        for p in model.heads.parameters():   # torchvision initialises the head to zeros
            p.normal_(0, 0.5)
    x = torch.randn(n, 3, args["image_size"], args["image_size"])
    return model, x


def relevance(name, variant, dtype):
    """Runs in a child process: patches torchvision with LXT and returns x * x.grad."""
    from functools import partial
    from lxt.efficient import monkey_patch
    from lxt.efficient.models.vit_torch import cp_LRP
    from lxt.efficient.patches import layer_norm_forward, non_linear_forward, patch_method
    from lxt.efficient.rules import divide_gradient

    if variant == "cp_lrp":
        patch_map = cp_LRP
    else:
        def uniform_attention(self, query, key, value, *args, **kwargs):
            return self.original_forward(divide_gradient(query, 4), divide_gradient(key, 4), divide_gradient(value, 2), *args, **kwargs)
        patch_map = {
            vision_transformer.nn.GELU: partial(patch_method, non_linear_forward, keep_original=True),
            vision_transformer.nn.LayerNorm: partial(patch_method, layer_norm_forward),
            vision_transformer.nn.MultiheadAttention: partial(patch_method, uniform_attention, keep_original=True),
        }
    monkey_patch(vision_transformer, patch_map)
    if name == "text-transformer":   # relevance at the embedding's output: ids have no gradient
        model, ids = build_text()
        model = model.to(dtype)
        x = model.embedding(ids).detach().requires_grad_()
        logits = model.head(x)
    else:
        model, x = build(name)
        model = model.to(dtype)
        x = x.to(dtype).requires_grad_()
        logits = model(x)
    targets = logits.argmax(1)
    logits.gather(1, targets[:, None]).sum().backward()
    return (x * x.grad).detach().double().numpy()


def child(name, variant, out):
    r64 = relevance(name, variant, torch.float64)
    r32 = relevance(name, variant, torch.float32)   # the patches stay; a second model is fine
    np.savez(out, r64=r64, r32=r32)


CAMS = {"gradcam": "GradCAM", "hirescam": "HiResCAM", "layercam": "LayerCAM", "xgradcam": "XGradCAM", "eigencam": "EigenCAM", "scorecam": "ScoreCAM"}


def build_swin():
    """The tiny torchvision SwinTransformer of Tools/make_modern_models.py (seed 4)."""
    torch.manual_seed(4)
    model = SwinTransformer(patch_size=[2, 2], embed_dim=8, depths=[2, 2], num_heads=[2, 2], window_size=[2, 2], num_classes=5).eval()
    return model, torch.randn(3, 3, 16, 16)


class TextTransformer(nn.Module):
    """Token ids → Embedding + learned positions → one nn.TransformerEncoderLayer (GELU module,
    batch first) → mean over tokens → Linear."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(50, 16)
        self.position = nn.Parameter(torch.randn(1, 10, 16) * 0.1)
        self.encoder = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU(), batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, ids):
        return self.head(self.embedding(ids))

    def head(self, e):
        return self.fc(self.encoder(e + self.position).mean(1))


def build_text():
    torch.manual_seed(41)
    return TextTransformer().eval(), torch.randint(1, 50, (3, 10))


def vit_spec(name):
    grid = MODELS[name][1]["image_size"] // MODELS[name][1]["patch_size"]
    layers = MODELS[name][1]["num_layers"]
    return (lambda: build(name), lambda m: m.encoder.layers[-1].ln_1,
            lambda t: t[:, 1:, :].reshape(t.size(0), grid, grid, t.size(2)).transpose(2, 3).transpose(1, 2),
            f"/encoder/layers/encoder_layer_{layers - 1}/ln_1/LayerNormalization_output_0", f"encoder.layers[{layers - 1}].ln_1",
            "tokens[:, 1:] on the patch grid, channels first", "tokens")


SWIN_SPEC = (build_swin, lambda m: m.features[-1][-1].norm1, lambda t: t.permute(0, 3, 1, 2),
             "/features/features.3/features.3.1/norm1/LayerNormalization_output_0", "features[-1][-1].norm1",
             "(N, H, W, C) permuted to (N, C, H, W)", "channels_last")


def cam_raw(spec, method, dtype):
    """pytorch-grad-cam's raw map relu(get_cam_image(...)), (N, 1, h, w), at the spec's layer with
    its reshape_transform (ViT: class token dropped, tokens on the patch grid; Swin: channels last
    permuted to channels first)."""
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    make, layer_of, reshape_transform = spec[:3]
    model, x = make()
    model, x = model.to(dtype), x.to(dtype)
    layer = layer_of(model)
    cam = getattr(pgc, method)(model=model, target_layers=[layer], reshape_transform=reshape_transform)
    outputs = cam.activations_and_grads(x)
    targets = [ClassifierOutputTarget(int(c)) for c in outputs.argmax(1)]
    if cam.uses_gradients:
        model.zero_grad()
        sum(t(o) for t, o in zip(targets, outputs)).backward(retain_graph=True)
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads = cam.activations_and_grads.gradients[0].cpu().numpy() if cam.uses_gradients else None
    if method == "EigenCAM":
        # get_2d_projection leaves the SVD's sign to LAPACK; the sign-corrected projection of the same
        # module (flipped when |min| > |max|) is the convention of the shared fixtures' Eigen-CAM cases.
        from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction
        raw = np.maximum(get_2d_projection_with_sign_correction(acts), 0)
    else:
        raw = np.maximum(cam.get_cam_image(x, layer, targets, acts, grads, False), 0)
    cam.activations_and_grads.release()
    return raw[:, None].astype(np.float64)


def cam_cases(spec, out):
    tensor, layer, transform, tag = spec[3:]
    cases = []
    for cid, method in CAMS.items():
        ref, r32 = cam_raw(spec, method, torch.float64), cam_raw(spec, method, torch.float32)
        cases.append(fixture_manifest.case(
            out, f"{cid}_{tag}_raw", "cam", method, "pytorch-grad-cam 1.5.7",
            {"onnx_tensor": tensor, "layer": layer, "reshape_transform": transform}, ref, r32,
            "output gradient = one-hot(target) on the logits",
            f"pytorch-grad-cam {method}: relu(get_cam_image(...)) before its min-max scaling and resizing, "
            f"at {layer} with the reshape_transform of its documentation ({transform})."))
    return cases


def main():
    if len(sys.argv) == 4:
        return child(*sys.argv[1:])
    for name in MODELS:
        out = os.path.join(ROOT, name)
        logits = fixture_manifest.export(*build(name), out)
        cases = []
        for variant, method in VARIANTS.items():
            tmp = os.path.join(out, f".{variant}.npz")
            subprocess.run([sys.executable, __file__, name, variant, tmp], check=True)
            data = np.load(tmp)
            os.remove(tmp)
            ref, r32 = data["r64"], data["r32"]
            cases.append(fixture_manifest.case(
                out, variant, "relevance", method, "lxt 2.1 (LRP eXplains Transformers)", {}, ref, r32,
                "output gradient = one-hot(target) on the logits; relevance = x * gradient", NOTES[variant],
                sum_per_sample=[float(s) for s in ref.reshape(len(ref), -1).sum(1)],
                target_logit=[float(logits[i, t]) for i, t in enumerate(logits.argmax(1))]))
        cases += cam_cases(vit_spec(name), out)
        a, b = (np.load(os.path.join(out, f"{v}.npy")) for v in VARIANTS)
        for c in cases:
            if c["id"] in VARIANTS:
                other = "attnlrp" if c["id"] == "cp_lrp" else "cp_lrp"
                c["diagnostics"]["nearest_other_case"] = {"id": other, "rel_l2": float(np.linalg.norm(a - b) / np.linalg.norm(b if c["id"] == "cp_lrp" else a))}
        fixture_manifest.write(out, name, f"torchvision VisionTransformer({MODELS[name][1]}), seed {MODELS[name][0]}, random head",
                               "lxt 2.1 and pytorch-grad-cam 1.5.7 in float64 from the float32 weights and inputs, stored as float32", cases)
    # A text transformer (token ids): AttnLRP / CP-LRP relevance at the embedding's output.
    out = os.path.join(ROOT, "text-transformer")
    logits = fixture_manifest.export(*build_text(), out)
    cases = []
    for variant, method in VARIANTS.items():
        tmp = os.path.join(out, f".{variant}.npz")
        subprocess.run([sys.executable, __file__, "text-transformer", variant, tmp], check=True)
        data = np.load(tmp)
        os.remove(tmp)
        cases.append(fixture_manifest.case(
            out, variant + "_embedding", "relevance", method, "lxt 2.1 (LRP eXplains Transformers)",
            {"onnx_tensor": "/embedding/Gather_output_0", "layer": "embedding"}, data["r64"], data["r32"],
            "output gradient = one-hot(target) on the logits; relevance = embedding * gradient at the embedding's output",
            NOTES[variant] + " Relevance at the embedding's output (ids have no gradient)."))
    fixture_manifest.write(out, "text-transformer", "Tools/make_transformer_fixtures.py TextTransformer (Embedding 50×16, learned positions, "
                           "nn.TransformerEncoderLayer(16, 2 heads, 32, GELU module, batch first), mean, Linear 16→3; seed 41)",
                           "lxt 2.1 in float64 from the float32 weights, stored as float32", cases)
    # A Swin transformer (channels-last maps): CAM cases only (LXT has no map for torchvision's Swin).
    out = os.path.join(ROOT, "swin-tiny")
    fixture_manifest.export(*build_swin(), out)
    fixture_manifest.write(out, "swin-tiny", "torchvision SwinTransformer(patch 2, embed 8, depths [2, 2], heads [2, 2], window 2), seed 4",
                           "pytorch-grad-cam 1.5.7 in float64 from the float32 weights and inputs, stored as float32",
                           cam_cases(SWIN_SPEC, out))


if __name__ == "__main__":
    main()
