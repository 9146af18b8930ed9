#!/usr/bin/env python3
"""Adds the model `token-mlp` to Tests/Fixtures/transformer: zennit 0.5.1's LRP on Linear layers
applied to tokens (N, T, C) — the layout of a transformer's or ConvNeXt's channel MLP, which
PyTorch exports as MatMul + Add and ExplainKit imports as a Dense layer over the last axis.

The model: a 4×4 patch embedding (Conv 3→8, stride 4) on a 16×16 input, its 16 tokens through
Linear(8→16), ReLU, Linear(16→8), ReLU, flattened, and a Linear head (128→5). Cases as in the
shared set (`../reference/README.md`): zennit composites EpsilonPlus, EpsilonAlpha2Beta1 and
single rules on every Conv and Linear, ReLU passing relevance through, relevance starting at the
target logit; computed in float64 from the float32 weights and inputs, stored as float32,
tolerances 20 times the float32-vs-float64 difference (at least rtol 1e-5, atol 1e-6).

Run once; the outputs are committed and CI never needs torch or zennit.

    pip install torch==2.5.1 onnx numpy zennit==0.5.1
    python3 Tools/make_token_lrp_fixtures.py
"""
import os

import numpy as np
import torch
import torch.nn as nn
from zennit.composites import EpsilonAlpha2Beta1, EpsilonPlus, LayerMapComposite
from zennit.core import Composite
from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, Pass, WSquare, ZPlus
from zennit.types import Activation, Convolution, Linear
from zennit.attribution import Gradient

import fixture_manifest

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "transformer", "token-mlp")


class TokenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, stride=4)
        self.fc1, self.fc2 = nn.Linear(8, 16), nn.Linear(16, 8)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()   # modules, so that zennit's Pass rule sees them
        self.head = nn.Linear(16 * 8, 5)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = self.act2(self.fc2(self.act1(self.fc1(t))))
        return self.head(t.flatten(1))


def single(rule):
    return LayerMapComposite(layer_map=[(Activation, Pass()), (Convolution, rule), (Linear, rule)])


CASES = [
    ("lrp_epsilon_plus", "LRP composite EpsilonPlus", {"composite": "EpsilonPlus", "epsilon": 1e-6}, lambda: EpsilonPlus()),
    ("lrp_epsilon_alpha2_beta1", "LRP composite EpsilonAlpha2Beta1", {"composite": "EpsilonAlpha2Beta1", "alpha": 2.0, "beta": 1.0},
     lambda: EpsilonAlpha2Beta1()),
    ("lrp_epsilon_1e-6", "LRP single rule Epsilon", {"rule": "Epsilon", "epsilon": 1e-6}, lambda: single(Epsilon(1e-6))),
    ("lrp_epsilon_0.25", "LRP single rule Epsilon", {"rule": "Epsilon", "epsilon": 0.25}, lambda: single(Epsilon(0.25))),
    ("lrp_zplus", "LRP single rule ZPlus", {"rule": "ZPlus"}, lambda: single(ZPlus())),
    ("lrp_alpha2_beta1", "LRP single rule AlphaBeta", {"rule": "AlphaBeta", "alpha": 2.0, "beta": 1.0}, lambda: single(AlphaBeta(2.0, 1.0))),
    ("lrp_gamma_0.25", "LRP single rule Gamma", {"rule": "Gamma", "gamma": 0.25}, lambda: single(Gamma(0.25))),
    ("lrp_flat", "LRP single rule Flat", {"rule": "Flat"}, lambda: single(Flat())),
    ("lrp_wsquare", "LRP single rule WSquare", {"rule": "WSquare"}, lambda: single(WSquare())),
]


def relevance(model, x, make, dtype):
    m = TokenMLP().to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
    m.eval()
    xx = x.to(dtype)
    with torch.no_grad():
        target = m(xx).argmax(1)
    with Gradient(model=m, composite=make()) as attributor:
        _, rel = attributor(xx, lambda out: torch.nn.functional.one_hot(target, out.shape[1]).to(dtype) * out)
    return rel.detach().double().numpy()


def main():
    torch.manual_seed(7)
    model = TokenMLP().eval()
    x = torch.randn(3, 3, 16, 16)
    fixture_manifest.export(model, x, OUT)
    cases = []
    for cid, method, params, make in CASES:
        ref, r32 = relevance(model, x, make, torch.float64), relevance(model, x, make, torch.float32)
        cases.append(fixture_manifest.case(
            OUT, cid, "relevance", method, "zennit 0.5.1",
            dict(params, stabilizer=1e-6, applies_to="every Conv and Linear layer (Linear on tokens (N, T, C))"), ref, r32,
            "initial relevance = one-hot(target) * logits",
            "zennit on a patch embedding and a token MLP: Linear layers on (N, T, C), exported as MatMul + Add."))
    fixture_manifest.write(OUT, "token-mlp", "Tools/make_token_lrp_fixtures.py TokenMLP, seed 7",
                           "zennit 0.5.1 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
