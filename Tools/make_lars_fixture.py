#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/lars_cases.npz: the active sets of scikit-learn 1.9.1's
`lars_path(X, y, max_iter=r, method="lar")` (no Gram matrix), the feature selection of shap's
KernelExplainer with l1_reg="num_features(r)", on designs with degenerate regressors (repeated and
collinear columns, where scikit-learn warns and drops a candidate) and on plain random ones.
Per case `{case}_x` (n, p), `{case}_y` (n,), `{case}_r` and `{case}_active` (int64).

    pip install scikit-learn==1.9.1 numpy
    python3 Tools/make_lars_fixture.py
"""
import os
import warnings

import numpy as np
from sklearn.linear_model import lars_path

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "lars_cases.npz")


def main():
    rng = np.random.default_rng(8)
    cases = {}
    x = rng.standard_normal((30, 8)); x[:, 5] = x[:, 2]
    cases["repeated"] = (x, x[:, 2] * 2 + x[:, 0] + 0.1 * rng.standard_normal(30), 6)
    x = rng.standard_normal((25, 10)); x[:, 7] = 0.5 * x[:, 1] - x[:, 4]; x[:, 9] = x[:, 3] + 0.01 * rng.standard_normal(25)
    cases["collinear"] = (x, x @ rng.standard_normal(10), 10)
    x = (rng.random((40, 12)) > 0.5).astype(np.float64); x[:, 10] = 1 - x[:, 6]
    cases["binary"] = (x, x @ rng.standard_normal(12) + 0.05 * rng.standard_normal(40), 12)
    x = rng.standard_normal((5, 9))   # more features than samples: the sixth candidate lies in the span of five
    cases["wide"] = (x, x @ rng.standard_normal(9) + 0.3 * rng.standard_normal(5), 9)
    x = (rng.random((6, 10)) > 0.5).astype(np.float64)
    cases["wide_binary"] = (x, x @ rng.standard_normal(10) + 0.2 * rng.standard_normal(6), 10)
    # Designs (searched over seeds, no repeated column) on which scikit-learn drops a degenerate
    # candidate and then still adds features. (Exactly repeated columns tie, and which of two equal
    # correlations wins depends on BLAS's rounding: such designs are left out.)
    for seed in [15, 33, 86, 93]:
        r2 = np.random.default_rng(seed)
        n = r2.integers(3, 9)
        p = r2.integers(n + 1, 14)
        x = r2.standard_normal((n, p)) if seed % 2 else (r2.random((n, p)) > 0.5).astype(float)
        cases[f"degenerate_{seed}"] = (x, x @ r2.standard_normal(p) + 0.1 * r2.standard_normal(n), int(p))
    x = rng.standard_normal((20, 6))
    cases["plain"] = (x, x @ rng.standard_normal(6), 4)
    out = {}
    for name, (x, y, r) in cases.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            active = lars_path(x.copy(), y.copy(), max_iter=r, method="lar")[1]
        print(name, list(active), "degenerate warnings:", sum("degenerate" in str(w.message) for w in caught))
        out[name + "_x"], out[name + "_y"] = x, y
        out[name + "_r"], out[name + "_active"] = np.int64(r), np.asarray(active, dtype=np.int64)
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
