#!/usr/bin/env python3
"""Makes the fixed-batch import tests of Tests/Fixtures/fixed-batch: models exported the way
`torch.onnx.export` does by default, without `dynamic_axes`, so that the file fixes the batch size
(the input's first dimension and constant shapes such as `x.view(x.size(0), -1)` → `[1, 512]`).
Each folder holds model.onnx, a 3-sample input.npy (another batch size than the exported one),
PyTorch's logits for it (expected.npy) and PyTorch's input gradient of each sample's arg-max logit
(gradient.npy):

- view-b1, view-b2: a CNN flattened with `view(x.size(0), -1)`, exported at batch 1 and 2;
- vit-b1: a tiny torchvision VisionTransformer exported at batch 1 (the class token is expanded to
  the constant batch size, the reshapes carry it), and the same model exported with a dynamic batch
  (dynamic.onnx): every method must give the same numbers on both;
- mixing-b2: a CNN that centres its features over the batch (`y - y.mean(0)`): samples depend on
  each other, so the graph must stay at its exported batch size;
- text-b1: token ids → Embedding → Conv1d → max over time → Linear, exported at batch 1 (int64
  input; the check draws token ids); expected.npy only (ids have no input gradient).

Run once; the outputs are committed and CI never needs torch.

    pip install torch==2.5.1 torchvision==0.20.1 onnx numpy
    python3 Tools/make_fixed_batch_models.py
"""
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from torchvision.models.vision_transformer import VisionTransformer

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "fixed-batch")


class ViewNet(nn.Module):
    def __init__(self, mixing=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 5)
        self.mixing = mixing

    def forward(self, x):
        y = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        if self.mixing:
            y = y - y.mean(0, keepdim=True)
        return self.fc(y.view(y.size(0), -1))


def save(name, model, batch, x):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    example = torch.randn(batch, *x.shape[1:])
    torch.onnx.export(model, example, path, opset_version=17, input_names=["input"], output_names=["logits"])
    xg = x.clone().requires_grad_()
    logits = model(xg)
    logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    np.save(os.path.join(out, "input.npy"), x.numpy())
    np.save(os.path.join(out, "expected.npy"), logits.detach().numpy())
    np.save(os.path.join(out, "gradient.npy"), xg.grad.numpy())
    print(name, "ops:", sorted({n.op_type for n in onnx.load(path).graph.node}))


class TextNet(nn.Module):
    """Token ids → Embedding → Conv1d → max over time → Linear (the text fixtures' shape)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(30, 6)
        self.conv = nn.Conv1d(6, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, ids):
        h = torch.relu(self.conv(self.embedding(ids).permute(0, 2, 1)))
        return self.fc(torch.nn.functional.max_pool1d(h, 10).squeeze(2))


def main():
    torch.manual_seed(0)
    net = ViewNet().eval()
    x = torch.randn(3, 3, 8, 8)
    save("view-b1", net, 1, x)
    save("view-b2", net, 2, x)
    torch.manual_seed(2)
    vit = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5).eval()
    with torch.no_grad():
        for p in vit.heads.parameters():
            p.normal_(0, 0.5)
    save("vit-b1", vit, 1, torch.randn(3, 3, 16, 16))
    torch.onnx.export(vit, torch.randn(2, 3, 16, 16), os.path.join(ROOT, "vit-b1", "dynamic.onnx"), opset_version=17,
                      input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    torch.manual_seed(3)
    save("mixing-b2", ViewNet(mixing=True).eval(), 2, torch.randn(3, 3, 8, 8))
    torch.manual_seed(4)
    text = TextNet().eval()
    out = os.path.join(ROOT, "text-b1")
    os.makedirs(out, exist_ok=True)
    ids = torch.randint(0, 30, (3, 10))
    torch.onnx.export(text, ids[:1], os.path.join(out, "model.onnx"), opset_version=17, input_names=["input"], output_names=["logits"])
    np.save(os.path.join(out, "input.npy"), ids.numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "expected.npy"), text(ids).numpy())
    print("text-b1 ops:", sorted({n.op_type for n in onnx.load(os.path.join(out, "model.onnx")).graph.node}))


if __name__ == "__main__":
    main()
