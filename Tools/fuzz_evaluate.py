#!/usr/bin/env python3
"""Fuzzes `explain evaluate` from outside: random metrics with one to three options set to absurd
values, on the digits CNN; reports every run that ends by a signal or a Swift runtime trap (exit
codes 0, 1 and ArgumentParser's 64 are clean). Needs numpy and a release build.
Usage: python3 Tools/fuzz_evaluate.py [SEED] [RUNS]   (found: features_in_step and --hog-cell overflows)
"""
import os
import subprocess, random, sys, numpy as np
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = ROOT + "/.build/release/explain"
M = ROOT + "/Tests/Fixtures/reference/digits-cnn"
os.makedirs("/tmp/evf", exist_ok=True)
np.save('/tmp/evf/x.npy', np.load(M + '/input.npy')[:2])
np.save('/tmp/evf/mask.npy', (np.random.rand(2, 1, 16, 16) > 0.5).astype(np.float32))
np.save('/tmp/evf/mask_bad.npy', np.zeros((3, 7), dtype=np.float32))
metrics = "pixel_flipping faithfulness_estimate monotonicity selectivity region_perturbation randomisation infidelity sensitivity sensitivity_n sparseness complexity effective_complexity localisation road confidence faithfulness_correlation monotonicity_correlation non_sensitivity sufficiency local_lipschitz_estimate relative_input_stability relative_output_stability continuity random_logit irof relative_representation_stability focus".split()
vals = ["0", "-1", "1", "2", "3", "0.5", "1e30", "nan", "9223372036854775807", "-9223372036854775808", "100000", "16", "-0.5", "999999999999", "4611686018427387904"]
opts = {"--steps": vals, "--region": vals, "--fraction": vals, "--baseline": vals + ["file:/tmp/evf/mask_bad.npy", "1,2,3"], "--mode": ["cascading", "independent", "x"],
        "--hog-cell": vals, "--seed": vals, "--subsets": vals, "--sizes": vals + ["1,2,1000"], "--samples": vals, "--sigma": vals, "--radius": vals,
        "--mask": ["/tmp/evf/mask.npy", "/tmp/evf/mask_bad.npy", "/nonexistent.npy"], "--top-k": vals, "--features-in-step": vals,
        "--fill": ["mean", "black", "uniform", "uniform:1,0", "uniform:0,nan", "x", "0", "nan"], "--patch": vals, "--order": ["morf", "lerf", "random", "x"], "--regions": vals,
        "--percentiles": vals + ["10,90", "90,10", "0,100"], "--noise": vals, "--map-scale": vals,
        "--runs": vals, "--subset": vals, "--eps": vals, "--threshold": vals, "--std": vals, "--noise-range": vals + ["0.02,0.2", "0.2,0.02", "nan,1"],
        "--shifts": vals, "--slic": vals, "--compactness": vals, "--layer": ["/relu3/Relu", "nope", ""], "--quadrants": ["/tmp/evf/mask_bad.npy", "/nonexistent.npy"]}
methods = ["gradient", "saliency", "lrp.epsilon_plus", "occlusion", "random", "gradcam"]
crashes = 0
for it in range(int(sys.argv[2]) if len(sys.argv) > 2 else 200):
    metric = random.choice(metrics)
    args = [B, "evaluate", M + "/model.onnx", "--input", "/tmp/evf/x.npy", "--method", random.choice(methods), "--metric", metric]
    for k in random.sample(list(opts), random.randint(1, 3)):
        args += [k + "=" + random.choice(opts[k])]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        print("TIMEOUT", " ".join(args[2:])); continue
    if r.returncode not in (0, 1, 64) or "Program crashed" in r.stderr or "Fatal error" in r.stderr:
        crashes += 1
        print("CRASH", r.returncode, " ".join(args[5:]))
        print("\n".join(l for l in r.stderr.splitlines() if "at /work" in l)[:1500])
print("crashes", crashes)
