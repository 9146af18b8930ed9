#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/tcav_cases.npz: Captum 0.9.0's TCAV on the shared digits-cnn model
(via onnx2torch), with a CAV classifier whose optimum is unique — scikit-learn's
LogisticRegression(C=1) solved to tolerance 1e-12 — so that ExplainKit's CAVs and scores can be
compared exactly (Captum's default classifier trains with SGD).

Concepts (12 examples each, 1×16×16 like the model's inputs): `bar`, a bright horizontal bar on weak
noise, and `ring`, a bright square outline on weak noise; two random sets of 12 Gaussian samples.
Inputs (`inputs`): the shared set's 4 digits and the first 4 examples of each concept and of
`random_0`, target class 6 (the two concepts score on both sides of 0 there). Layers: /conv3/Conv and /relu4/Relu.
Stored per layer tag L (conv3, relu4), concept C and random set R: `L_C_R_cav` (Captum's CAV for
C, flattened), `L_C_R_scores` (sign_count, magnitude as Captum's interpret returns them); and the
data: `concept_bar`, `concept_ring`, `random_0`, `random_1`.

    pip install torch==2.5.1 onnx onnx2torch captum==0.9.0 scikit-learn numpy
    python3 Tools/make_tcav_fixture.py
"""
import os
import tempfile

import numpy as np
import onnx
import onnx2torch
import torch
from captum.attr import LayerGradientXActivation
from captum.concept import TCAV, Classifier, Concept
from captum.concept._utils.data_iterator import dataset_to_dataloader
from sklearn.linear_model import LogisticRegression
from torch.utils.data import Dataset

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
LAYERS = {"conv3": "conv3/Conv", "relu4": "relu4/Relu"}
TARGET = 6


class Examples(Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


class ExactLogistic(Classifier):
    """L2 logistic regression (C = 1) to convergence; weights as Captum expects them."""

    def __init__(self):
        self.lm = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000, solver="newton-cholesky")

    def train_and_eval(self, dataloader, **kwargs):
        xs, ys = zip(*dataloader)
        x, y = torch.cat(xs).double().numpy(), torch.cat(ys).numpy()
        self.lm.fit(x, y)
        return {"accs": float(self.lm.score(x, y))}

    def weights(self):
        w = torch.tensor(self.lm.coef_)
        return torch.stack([-w[0], w[0]]) if len(w) == 1 else w

    def classes(self):
        return list(self.lm.classes_)


def main():
    rng = np.random.default_rng(11)
    bar = 0.3 * rng.standard_normal((12, 1, 16, 16))
    bar[:, :, 6:9, 2:14] += 2.0
    ring = 0.3 * rng.standard_normal((12, 1, 16, 16))
    ring[:, :, 3, 3:13] += 2.0; ring[:, :, 12, 3:13] += 2.0; ring[:, :, 3:13, 3] += 2.0; ring[:, :, 3:13, 12] += 2.0
    randoms = [rng.standard_normal((12, 1, 16, 16)) for _ in range(2)]
    data = {"concept_bar": bar, "concept_ring": ring, "random_0": randoms[0], "random_1": randoms[1]}
    data = {k: v.astype(np.float32) for k, v in data.items()}

    src = os.path.join(ROOT, "reference", "digits-cnn")
    net = onnx2torch.convert(onnx.load(os.path.join(src, "model.onnx"))).double().eval()
    modules = dict(net.named_modules())
    for tag, name in LAYERS.items():   # Captum builds file paths from layer names: no "/"
        net.add_module(tag, modules[name])
    digits = np.load(os.path.join(src, "input.npy"))
    inputs = np.concatenate([digits, data["concept_bar"][:4], data["concept_ring"][:4], data["random_0"][:4]]).astype(np.float32)
    x = torch.from_numpy(inputs).double()
    out = dict(data, inputs=inputs)
    with tempfile.TemporaryDirectory() as tmp:
        def concept(i, name):
            return Concept(i, name, dataset_to_dataloader(Examples(torch.from_numpy(data[name]).double())))
        concepts = {name: concept(i, name) for i, name in enumerate(data)}
        for tag, layer in LAYERS.items():
            tcav = TCAV(net, layers=[tag], classifier=ExactLogistic(), save_path=os.path.join(tmp, tag),
                        layer_attr_method=LayerGradientXActivation(net, None, multiply_by_inputs=False))
            sets = [[concepts[c], concepts[r]] for c in ("concept_bar", "concept_ring") for r in ("random_0", "random_1")]
            scores = tcav.interpret(x, experimental_sets=sets, target=TARGET)
            for c_name, r_name in ((s[0].name, s[1].name) for s in sets):
                key = f"{concepts[c_name].id}-{concepts[r_name].id}"
                stats = tcav.cavs[key][tag].stats
                cav = stats["weights"][stats["classes"].index(concepts[c_name].id)]
                base = f"{tag}_{c_name.split('_')[1]}_{r_name.split('_')[1]}"
                out[base + "_cav"] = cav.double().numpy().astype(np.float64)
                out[base + "_scores"] = np.array([float(scores[key][tag]["sign_count"][0]), float(scores[key][tag]["magnitude"][0])])
                print(base, out[base + "_scores"], "accuracy", stats.get("accs"))
    np.savez(os.path.join(ROOT, "arrays", "tcav_cases.npz"), **out)


if __name__ == "__main__":
    main()
