#!/usr/bin/env python3
"""Makes Tests/Fixtures/models/activations: a small CNN with the element-wise activations beyond
Relu/Sigmoid/Tanh (HardSwish, Elu, Selu, Softplus, exact GELU exported as Erf, HardSigmoid,
LeakyRelu), opset 17, with onnxruntime's logits (expected.npy) and PyTorch's input gradient of the
arg-max logit (gradient.npy). Run once; the outputs are committed and CI never needs torch.

    pip install torch==2.5.1 onnx onnxruntime numpy
    python3 Tools/make_activation_model.py
"""
import os

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "models", "activations")
torch.manual_seed(0)
model = nn.Sequential(
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
x = torch.randn(3, 2, 8, 8)
os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, "model.onnx")
torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
expected = ort.InferenceSession(path).run(None, {"input": x.numpy()})[0]
xg = x.clone().requires_grad_()
logits = model(xg)
logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
np.save(os.path.join(OUT, "input.npy"), x.numpy())
np.save(os.path.join(OUT, "expected.npy"), expected)
np.save(os.path.join(OUT, "gradient.npy"), xg.grad.numpy())
import onnx
print("ops:", sorted({n.op_type for n in onnx.load(path).graph.node}))
