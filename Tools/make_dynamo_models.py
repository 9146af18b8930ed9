#!/usr/bin/env python3
"""Makes Tests/Fixtures/models/vit-dynamo: a tiny torchvision VisionTransformer exported by
PyTorch's dynamo exporter (`torch.onnx.export(..., dynamo=True)`, opset 18): its aten helpers as
model-local functions (domain pkg.onnxscript.torch_lib) with `If` on shape tests, CastLike, Abs,
Size, Greater inside. onnxruntime's logits (expected.npy) and PyTorch's input gradient of the
arg-max logit (gradient.npy) for 3 samples. Exported at batch 1 (this exporter's dynamic batch
fails on ViT in torch 2.5), so the graph runs one sample at a time.

    pip install torch==2.5.1 torchvision==0.20.1 onnxscript==0.1.0 onnx onnxruntime numpy
    python3 Tools/make_dynamo_models.py
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torchvision.models.vision_transformer import VisionTransformer

import fixture_manifest

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "models", "vit-dynamo")


def main():
    torch.manual_seed(4)
    m = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5).eval()
    with torch.no_grad():
        for p in m.heads.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(3, 3, 16, 16)
    os.makedirs(ROOT, exist_ok=True)
    path = os.path.join(ROOT, "model.onnx")
    program = torch.onnx.export(m, (x[:1],), dynamo=True, input_names=["input"], output_names=["logits"])
    program.save(path)
    model = onnx.load(path)
    print("opset", [o.version for o in model.opset_import], "functions", [f.name for f in model.functions])
    session = ort.InferenceSession(path)
    expected = np.concatenate([session.run(None, {"input": x[i:i + 1].numpy()})[0] for i in range(len(x))])
    fixture_manifest.save_import_test(ROOT, m, x, expected)


if __name__ == "__main__":
    main()
