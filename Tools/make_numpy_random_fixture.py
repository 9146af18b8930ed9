#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/numpy_shuffle_cases.npz: what numpy's legacy generator draws, to check
NumpyLegacyRandom against it. For each seed S and length n: `np.random.seed(S)`, then the same
array (initially arange(n)) shuffled three times with `np.random.shuffle`, each result stored as
`s{S}_n{n}_k{k}` (int64), as shap's PermutationExplainer shuffles one array again for every order.

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


if __name__ == "__main__":
    main()
