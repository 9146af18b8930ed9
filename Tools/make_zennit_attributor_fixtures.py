#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/zennit: zennit 0.5.1's attributors beyond LRP on the shared
digits CNN and cancer MLP (copied from ../reference; onnx2torch), in float64 from the float32 weights
and inputs, in the shared set's format:

- `Occlusion(model, window, stride)` with zennit's default occlusion function: every element gets the
  target's output on the occluded input, summed over the windows that contain it; windows wrap
  around the far edge (`torch.roll`). zennit 0.5.1's `occlude_independent` returns
  `input * mask + ~mask * fill` — it keeps the window and fills the rest with zeros (its docstring
  says the opposite); the fixture records what it computes. ExplainKit: `occlusion --set style=zennit --set window=…
  --set strides=…`.
- `IntegratedGradients(model, n_iter)` with the zero baseline: the gradient at α = 1/n … 1
  (`torch.linspace(1/n, 1, n)`) averaged, times x. ExplainKit: `integrated_gradients --set
  method=riemann_right --set steps=n`.

Each explains the target of targets.npy (Occlusion's `attr_output` is `output · one_hot`, its score; the
gradient attributors get the one-hot output gradient).

    pip install torch==2.5.1 onnx onnx2torch zennit==0.5.1 numpy
    python3 Tools/make_zennit_attributor_fixtures.py
"""
import os

import numpy as np
import onnx2torch
import torch
from zennit.attribution import IntegratedGradients, Occlusion

import fixture_manifest

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "reference")
DST = os.path.join(HERE, "..", "Tests", "Fixtures", "zennit")
RUNS = {
    "digits-cnn": [("occlusion_default", "occlusion", {"window": 8, "stride": 8}),
                   ("occlusion_1x4x4_stride_1x3x3", "occlusion", {"window": (1, 4, 4), "stride": (1, 3, 3)}),
                   ("integrated_gradients_16", "ig", {"n_iter": 16})],
    "cancer-mlp": [("occlusion_window4_stride3", "occlusion", {"window": 4, "stride": 3}),
                   ("integrated_gradients_20", "ig", {"n_iter": 20})],
}


def attribute(proto, x, targets, kind, options, dtype, classes):
    net = onnx2torch.convert(proto).to(dtype).eval()
    xs = torch.from_numpy(x).to(dtype)
    onehot = torch.eye(classes, dtype=dtype)[torch.from_numpy(targets)]
    attributor = Occlusion(net, **options) if kind == "occlusion" else IntegratedGradients(net, **options)
    # Occlusion sums attr_output(output) as the score, so it is given the target logit (output · one-hot);
    # the gradient attributors take the one-hot itself as the output gradient.
    attr_output = (lambda out: out * onehot) if kind == "occlusion" else onehot
    with attributor:
        _, relevance = attributor(xs, attr_output)
    return relevance.detach().numpy()


def main():
    for model, runs in RUNS.items():
        out = os.path.join(DST, model)
        proto, x, targets = fixture_manifest.copy_shared(os.path.join(SRC, model), out)
        classes = int(np.load(os.path.join(out, "logits.npy")).shape[1])
        cases = []
        for cid, kind, options in runs:
            ref, r32 = (attribute(proto, x, targets, kind, options, d, classes).astype(np.float64) for d in (torch.float64, torch.float32))
            if kind == "occlusion":
                as_list = lambda v: list(v) if isinstance(v, tuple) else [v]
                params = {"window": as_list(options["window"]), "stride": as_list(options["stride"]), "fill": 0.0}
                method, notes = "zennit Occlusion", (f"zennit.attribution.Occlusion(model, window={options['window']}, stride={options['stride']}) "
                                                     "(default occlude_independent: the window kept, the rest zeros): the target's output on that input, summed "
                                                     "over the windows (rolled, wrapping) that contain each element.")
            else:
                params = {"n_iter": options["n_iter"], "baseline": 0.0}
                method, notes = "zennit IntegratedGradients", (f"zennit.attribution.IntegratedGradients(model, n_iter={options['n_iter']}): "
                                                               "x times the mean gradient at alpha = 1/n ... 1 (zero baseline).")
            cases.append(fixture_manifest.case(out, cid, "model_agnostic" if kind == "occlusion" else "reference", method,
                                               "zennit 0.5.1 (model via onnx2torch)", params, ref, r32, "output = one-hot(target) on the logits", notes))
        fixture_manifest.write(out, model, f"copied from the shared set ({model})",
                               "zennit 0.5.1 in float64 from the float32 weights and inputs, stored as float32", cases)


if __name__ == "__main__":
    main()
