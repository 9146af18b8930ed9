#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/localisation_cases.npz: Quantus 0.6.0's PointingGame,
RelevanceMassAccuracy, RelevanceRankAccuracy, TopKIntersection (k = 10), AUC and
AttributionLocalisation (|a| scaled per sample) on five
attribution maps (1×8×8, float64, signed, one with tied values) and their binary masks (one mask
empty: NaN scores); Focus on the same maps read as 2 × 2 mosaics with given target quadrants.

    pip install quantus==0.6.0 torch==2.5.1 numpy
    python3 Tools/make_localisation_fixture.py
"""
import os

import numpy as np
import quantus
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "localisation_cases.npz")


def main():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((5, 1, 8, 8))
    a[1, 0, 2:5, 2:5] += 3.0                      # on the object
    a[2] = np.round(a[2], 1)                      # many ties
    a[3, 0, 7, 7] = 10.0                          # maximum outside the object
    s = np.zeros((5, 1, 8, 8))
    s[0, 0, 1:4, 1:6] = 1; s[1, 0, 2:6, 2:6] = 1; s[2, 0, 4:8, 0:3] = 1; s[3, 0, 0:4, 0:4] = 1   # sample 4: empty
    x = np.zeros_like(a)
    y = np.zeros(len(a), dtype=np.int64)
    kwargs = dict(disable_warnings=True, display_progressbar=False)
    out = {"attributions": a, "masks": s}
    for name, metric in [("pointing_game", quantus.PointingGame(**kwargs)), ("mass_accuracy", quantus.RelevanceMassAccuracy(**kwargs)),
                         ("rank_accuracy", quantus.RelevanceRankAccuracy(**kwargs)), ("top_k_intersection", quantus.TopKIntersection(k=10, **kwargs)),
                         ("auc", quantus.AUC(**kwargs)),
                         ("attribution_localisation", quantus.AttributionLocalisation(normalise_func_kwargs={"normalise_axes": [1, 2, 3]}, **kwargs))]:
        out[name] = np.asarray(metric(model=None, x_batch=x, y_batch=y, a_batch=a.copy(), s_batch=s.copy()), dtype=np.float64)
        print(name, out[name])
    # Focus: the maps as mosaics of four quadrants, flags of the quadrants showing the target class.
    quadrants = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 0]])
    focus = quantus.Focus(normalise_func_kwargs={"normalise_axes": [1, 2, 3]}, **kwargs)
    out["quadrants"] = quadrants.astype(np.int64)
    # Focus insists on a model (it never runs it when given the maps): an identity stands in.
    out["focus"] = np.asarray(focus(model=torch.nn.Identity(), x_batch=x.astype(np.float32), y_batch=y, a_batch=a.copy(), custom_batch=quadrants,
                                    channel_first=True, device="cpu"), dtype=np.float64)
    print("focus", out["focus"])
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
