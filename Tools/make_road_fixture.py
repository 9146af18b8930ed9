#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/road_cases.npz: pytorch-grad-cam 1.5.7's ROAD (RemOve And Debias) on
the shared digits CNN (via onnx2torch, float32 as the peer runs it), with its imputer's noise set to
0 (the peer draws it from torch.randn):

- `cams` (N, 16, 16): two maps per input — random (`RandomState(3).rand`) and a smooth blob — stored
  as `cams_random`, `cams_blob`; `targets` the shared targets.
- `morf_<kind>_p<P>`, `lerf_<kind>_p<P>` (N,): ROADMostRelevantFirst(P) / ROADLeastRelevantFirst(P)
  scores (f_t(imputed) − f_t(x), logits via ClassifierOutputTarget) for P = 10 … 90;
  `morf_<kind>_mean`, `lerf_<kind>_mean`, `combined_<kind>` the averages and ROADCombined.
- `impute_image` (3, 12, 10), `impute_mask` (12, 10; 1 = kept), `impute_out`: NoisyLinearImputer(noise=0).
- `confidence_logit_<kind>`, `confidence_prob_<kind>` (N,): CamMultImageConfidenceChange — the
  output on x ⊙ cam minus the output on x — with ClassifierOutputTarget (the logit) and
  ClassifierOutputSoftmaxTarget (the softmax probability); DropInConfidence and
  IncreaseInConfidence follow from them (max(−Δ, 0), Δ > 0).

    pip install torch==2.5.1 onnx onnx2torch grad-cam==1.5.7 numpy scipy
    python3 Tools/make_road_fixture.py
"""
import os

import numpy as np
import onnx
import onnx2torch
import torch
from pytorch_grad_cam.metrics import road
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget, ClassifierOutputTarget

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "Tests", "Fixtures", "reference", "digits-cnn")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "arrays", "road_cases.npz")
PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


def main():
    road.NoisyLinearImputer.__init__.__defaults__ = (0.0, road.neighbors_weights)
    net = onnx2torch.convert(onnx.load(os.path.join(SRC, "model.onnx"))).eval()
    x = torch.from_numpy(np.load(os.path.join(SRC, "input.npy")))
    targets = np.load(os.path.join(SRC, "targets.npy"))
    goals = [ClassifierOutputTarget(int(t)) for t in targets]
    n, _, h, w = x.shape
    yy, xx = np.mgrid[0:h, 0:w]
    cams = {"random": np.random.RandomState(3).rand(n, h, w).astype(np.float32),
            "blob": np.stack([np.exp(-((yy - 4 - 2 * i) ** 2 + (xx - 10 + i) ** 2) / 18.0) for i in range(n)]).astype(np.float32)}
    out = {"targets": targets.astype(np.int64)}
    for kind, c in cams.items():
        out[f"cams_{kind}"] = c
        for p in PERCENTILES:
            out[f"morf_{kind}_p{p}"] = np.float32(road.ROADMostRelevantFirst(p)(x, c, goals, net))
            out[f"lerf_{kind}_p{p}"] = np.float32(road.ROADLeastRelevantFirst(p)(x, c, goals, net))
        out[f"morf_{kind}_mean"] = road.ROADMostRelevantFirstAverage(PERCENTILES)(x, c, goals, net)
        out[f"lerf_{kind}_mean"] = road.ROADLeastRelevantFirstAverage(PERCENTILES)(x, c, goals, net)
        out[f"combined_{kind}"] = road.ROADCombined(PERCENTILES)(x, c, goals, net)
        out[f"confidence_logit_{kind}"] = CamMultImageConfidenceChange()(x, c, goals, net)
        out[f"confidence_prob_{kind}"] = CamMultImageConfidenceChange()(x, c, [ClassifierOutputSoftmaxTarget(int(t)) for t in targets], net)
    rng = np.random.RandomState(5)
    image = rng.rand(3, 12, 10).astype(np.float32)
    mask = (rng.rand(12, 10) > 0.6).astype(np.float32)
    out["impute_image"], out["impute_mask"] = image, mask
    out["impute_out"] = road.NoisyLinearImputer()(torch.from_numpy(image), torch.from_numpy(mask)).numpy()
    np.savez(OUT, **out)
    print(len(out), "arrays;", "combined random", out["combined_random"], "blob", out["combined_blob"])


if __name__ == "__main__":
    main()
