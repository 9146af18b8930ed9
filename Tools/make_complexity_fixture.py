#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/complexity_cases.npz: Quantus 0.6.0's Sparseness, Complexity and
EffectiveComplexity on four attribution maps (1×8×8, float64: a smooth blob, a single spike on
noise, uniform noise, and a map with exact zeros and negative values), each normalised by its own
maximum magnitude (`normalise_by_max` over the sample's axes; Quantus's default normalises by the
batch maximum) and made absolute, as Quantus does.

    pip install quantus==0.6.0 numpy
    python3 Tools/make_complexity_fixture.py
"""
import os

import numpy as np
import quantus

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "complexity_cases.npz")


def main():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:8, 0:8]
    blob = np.exp(-((yy - 3.5) ** 2 + (xx - 2.0) ** 2) / 4.0)
    spike = 0.01 * rng.standard_normal((8, 8)); spike[5, 6] = 3.0
    noise = rng.uniform(-1, 1, (8, 8))
    mixed = rng.standard_normal((8, 8)); mixed[:3] = 0.0; mixed *= 250.0
    a = np.stack([blob, spike, noise, mixed])[:, None].astype(np.float64)
    x = np.zeros_like(a)
    y = np.zeros(len(a), dtype=np.int64)
    per_sample = {"normalise_axes": (1, 2, 3)}
    kwargs = dict(normalise_func_kwargs=per_sample, disable_warnings=True, display_progressbar=False)
    out = {"attributions": a}
    for name, metric in [("sparseness", quantus.Sparseness(**kwargs)), ("complexity", quantus.Complexity(**kwargs)),
                         ("effective_complexity", quantus.EffectiveComplexity(**kwargs))]:
        out[name] = np.asarray(metric(model=None, x_batch=x, y_batch=y, a_batch=a.copy()), dtype=np.float64)
        print(name, out[name])
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
