#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/numpy_shuffle_cases.npz: what numpy's legacy generator draws, to check
NumpyLegacyRandom against it. For each seed S and length n: `np.random.seed(S)`, then the same
array (initially arange(n)) shuffled three times with `np.random.shuffle`, each result stored as
`s{S}_n{n}_k{k}` (int64), as shap's PermutationExplainer shuffles one array again for every order.
Also Tests/Fixtures/arrays/numpy_normal_cases.npz: after `np.random.seed(S)`, `normal(0, 1, 5)`,
`uniform(size=2)`, `normal(0, 1, 4)` (the polar method's cached second value lives across the
uniform draws) and `randint(0, 9, 4)`, concatenated as `s{S}` (float64), as Quantus's robustness
metrics draw.

    python3 Tools/make_numpy_random_fixture.py     (numpy only)
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "numpy_shuffle_cases.npz")


def main():
    cases = {}
    for seed in [0, 1, 42, 4294967295]:
        for n in [1, 2, 5, 30, 1000]:
            np.random.seed(seed)
            a = np.arange(n)
            for k in range(3):
                np.random.shuffle(a)
                cases[f"s{seed}_n{n}_k{k}"] = a.astype(np.int64).copy()
    np.savez(OUT, **cases)
    print(len(cases), "arrays")
    normals = {}
    for seed in [0, 3, 42, 4294967295]:
        np.random.seed(seed)
        parts = [np.random.normal(0, 1, 5), np.random.uniform(size=2), np.random.normal(0, 1, 4), np.random.randint(0, 9, 4)]
        normals[f"s{seed}"] = np.concatenate(parts).astype(np.float64)
    np.savez(OUT.replace("numpy_shuffle_cases", "numpy_normal_cases"), **normals)


if __name__ == "__main__":
    main()
