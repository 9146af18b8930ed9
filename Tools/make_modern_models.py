#!/usr/bin/env python3
"""Makes two import-test models of Tests/Fixtures/models (opset 17), each with onnxruntime's logits
(expected.npy) and PyTorch's input gradient of the arg-max logit (gradient.npy):

- activations: a small CNN with the element-wise activations beyond Relu/Sigmoid/Tanh (HardSwish,
  Elu, Selu, Softplus, exact GELU exported as Erf, HardSigmoid, LeakyRelu);
- convnext-block: a ConvNeXt-style network (depthwise 7x7 convolution, channels-last
  LayerNormalization, Linear-GELU-Linear, layer scale, residual) with a LayerNorm head;
- vit: a tiny torchvision VisionTransformer (class token expanded to the batch, multi-head
  attention with the heads folded into the batch, Gather of q/k/v and of the class token), with a
  random head (torchvision initialises it to zeros);
- swin: a tiny torchvision SwinTransformer (shifted windows: roll, window partition, the attention
  mask built from Range/ScatterND/Equal/Where on constants, patch merging);
- slicing: strided slices of activations (the Focus / patch-merging pattern `x[:, :, 0::2, 0::2]`),
  a reversed slice and `torch.roll` (Slice + Concat at run time).

Run once; the outputs are committed and CI never needs torch.

    pip install torch==2.5.1 torchvision==0.20.1 onnx onnxruntime numpy
    python3 Tools/make_modern_models.py
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

import fixture_manifest

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "models")


def save(name, model, x, opset=17):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    model.eval()                                             # export restores the training flag it found
    fixture_manifest.save_import_test(out, model, x, ort.InferenceSession(path).run(None, {"input": x.numpy()})[0])
    print(name, "ops:", sorted({n.op_type for n in onnx.load(path).graph.node}))


class Block(nn.Module):
    """ConvNeXt block: depthwise 7x7, LayerNorm over channels (channels last), MLP with GELU, layer scale."""

    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class Slicing(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 6, 3, padding=1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], dim=1)
        x = torch.roll(x, shifts=1, dims=3)
        x = x[:, :, :, 1:] - x[:, :, :, :-1]
        x = torch.relu(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))


class ConvNeXtLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 8, 2, stride=2)
        self.blocks = nn.Sequential(Block(8), Block(8))
        self.head_norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(self.head_norm(x.mean(dim=(2, 3))))


def main():
    torch.manual_seed(0)
    activations = nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1), nn.Hardswish(),
        nn.Conv2d(6, 6, 3, padding=1), nn.ELU(alpha=0.7),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.SELU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 12), nn.Softplus(),
        nn.Linear(12, 12), nn.GELU(),
        nn.Linear(12, 10), nn.Hardsigmoid(),
        nn.Linear(10, 10), nn.LeakyReLU(0.05),
        nn.Linear(10, 5),
    ).eval()
    save("activations", activations, torch.randn(3, 2, 8, 8))
    torch.manual_seed(1)
    save("convnext-block", ConvNeXtLike().eval(), torch.randn(3, 2, 12, 12))
    torch.manual_seed(2)
    vit = VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5).eval()
    with torch.no_grad():
        for p in vit.heads.parameters():
            p.normal_(0, 0.5)
    save("vit", vit, torch.randn(3, 3, 16, 16))
    torch.manual_seed(3)
    save("slicing", Slicing().eval(), torch.randn(3, 2, 8, 8))
    torch.manual_seed(4)
    swin = SwinTransformer(patch_size=[2, 2], embed_dim=8, depths=[2, 2], num_heads=[2, 2], window_size=[2, 2],
                           num_classes=5).eval()
    save("swin", swin, torch.randn(3, 3, 16, 16))


if __name__ == "__main__":
    main()
