#!/usr/bin/env python3
"""Makes the GELU import-test models of Tests/Fixtures/models, each with onnxruntime's logits
(expected.npy) and PyTorch's input gradient of the arg-max logit (gradient.npy):

- gelu-tanh (opset 17): `nn.GELU(approximate="tanh")` (exported as eight Mul/Add/Tanh nodes) and
  Hugging Face's `gelu_new` written with `torch.pow(x, 3.0)` (a runtime Pow), between Linear layers;
- gelu-opset20 (opset 20): the same network's `nn.GELU()` and `nn.GELU(approximate="tanh")`, which
  opset 20 exports as ONNX `Gelu` nodes.

Run once; the outputs are committed and CI never needs torch.

    pip install torch==2.5.1 onnx onnxruntime numpy
    python3 Tools/make_gelu_models.py
"""
import math

import torch
import torch.nn as nn

from make_modern_models import save


class GeluNew(nn.Module):
    """Hugging Face's gelu_new (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def network(first, second):
    return nn.Sequential(nn.Linear(6, 12), first, nn.Linear(12, 10), second, nn.Linear(10, 4)).eval()


def main():
    torch.manual_seed(12)
    x = 2 * torch.randn(5, 6)
    save("gelu-tanh", network(nn.GELU(approximate="tanh"), GeluNew()), x, 17)
    torch.manual_seed(13)
    save("gelu-opset20", network(nn.GELU(), nn.GELU(approximate="tanh")), x, 20)


if __name__ == "__main__":
    main()
