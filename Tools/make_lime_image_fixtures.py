#!/usr/bin/env python3
"""Makes the fixture set Tests/Fixtures/lime: lime 0.2.0.1's `LimeImageExplainer` with its defaults
and its own draws — `LimeImageExplainer(random_state=S)`, then `explain_instance(image, f,
labels=(t,), top_labels=None, num_samples=n)` for each image in turn (one explainer: numpy's
legacy stream continues from image to image) — on two small models: the test ResNet
(`../models/resnet`; two new 96 × 96 RGB images in [0, 1]: 40 flat Voronoi cells, slightly blurred,
with a little noise, which quick shift cuts into 12 and 13 superpixels) and the shared digits CNN
(`../reference/digits-cnn`, grey 16 × 16: lime turns it into RGB with `gray2rgb` and `f` feeds one
channel back to the model), in the shared set's format.

What lime does per image: one `randint(0, 1000)` (a segmentation seed that scikit-image 0.26's
`quickshift` no longer takes: it keeps its own `rng=42`), quick shift superpixels (kernel_size 4,
max_dist 200, ratio 0.2, on the Lab image), `hide_color=None`: absent superpixels take their mean
colour, `randint(0, 2, n · M)` presence vectors with the first all ones, `f` on the perturbed
images (here the logits), cosine distances to the all-ones vector, kernel `√exp(−d²/0.25²)`,
`Ridge(alpha=1)` with those weights on the features ranked by a first `Ridge(alpha=0.01)` (all of
them: `num_features=100000`). The stored map holds each superpixel's coefficient on its pixels
and channels. The reference is lime's run with the image and `f` in float64; the float32 run sets
the tolerance (20 times the difference, at least 1e-5 / 1e-6). ExplainKit: `lime --set rng=lime
--set seed=S [--set samples=n]` (quick shift, mean colours and lime's draws by default).

    pip install torch==2.5.1 onnx onnx2torch lime==0.2.0.1 scikit-image==0.26.0 scikit-learn numpy
    python3 Tools/make_lime_image_fixtures.py
"""
import os

import numpy as np
import onnx
import onnx2torch
import torch
from lime.lime_image import LimeImageExplainer
from lime.wrappers.scikit_image import SegmentationAlgorithm
from scipy import ndimage

import fixture_manifest

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")
DST = os.path.join(FIXTURES, "lime")
RUNS = {
    # folder: (source, new images or None (the shared input),
    #          [(case id, seed, num_samples or None for lime's 1000, SLIC n_segments or None for quick shift)])
    "resnet": (os.path.join(FIXTURES, "models", "resnet"), True, [("lime_image_seed0", 0, None, None), ("lime_image_seed5_300", 5, 300, None),
                                                                  ("lime_image_slic20_seed2_300", 2, 300, 20)]),
    "digits-cnn": (os.path.join(FIXTURES, "reference", "digits-cnn"), False, [("lime_image_seed3_400", 3, 400, None)]),
}


def voronoi(rng, size, cells):
    points, colours = rng.rand(cells, 2) * size, rng.rand(cells, 3)
    yy, xx = np.mgrid[:size, :size]
    image = colours[((yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2).argmin(-1)]
    return np.clip(ndimage.gaussian_filter(image, (0.7, 0.7, 0)) + rng.rand(size, size, 3) * 0.05, 0, 1)


def explain(proto, x, t, seed, n, dtype, slic=None):
    net = onnx2torch.convert(proto).to(dtype).eval()
    channels = x.shape[1]

    def f(images):
        batch = np.moveaxis(np.asarray(images), -1, 1)[:, :channels]
        with torch.no_grad():
            return net(torch.from_numpy(np.ascontiguousarray(batch)).to(dtype)).double().numpy()

    explainer = LimeImageExplainer(random_state=seed)
    out = []
    for j in range(len(x)):
        image = np.moveaxis(x[j], 0, -1).astype(np.float64 if dtype == torch.float64 else np.float32)
        if channels == 1:
            image = image[..., 0]
        kwargs = {} if n is None else {"num_samples": n}
        if slic is not None:
            # lime names feature j after segment label j, and SLIC labels from 1: feature 0 hides
            # nothing and the last segment is never hidden (its coefficient: none, 0 on the map).
            kwargs["segmentation_fn"] = SegmentationAlgorithm("slic", n_segments=slic)
        e = explainer.explain_instance(image, f, labels=(int(t[j]),), top_labels=None, **kwargs)
        coef = dict(e.local_exp[int(t[j])])
        segments = e.segments
        plane = np.vectorize(lambda s: coef.get(s, 0.0))(segments)
        out.append(np.repeat(plane[None], channels, axis=0))
    return np.stack(out).astype(np.float64)


def main():
    os.makedirs(DST, exist_ok=True)
    for folder, (source, new_images, runs) in RUNS.items():
        out = os.path.join(DST, folder)
        os.makedirs(out, exist_ok=True)
        proto = onnx.load(os.path.join(source, "model.onnx"))
        if new_images:
            # The test ResNet pools globally: it takes the larger images as they are (declared 96 × 96).
            dims = proto.graph.input[0].type.tensor_type.shape.dim
            dims[2].dim_value, dims[3].dim_value = 96, 96
        onnx.save(proto, os.path.join(out, "model.onnx"))
        if new_images:
            rng = np.random.RandomState(11)
            x = np.stack([np.moveaxis(voronoi(rng, 96, 40), -1, 0) for _ in range(2)]).astype(np.float32)
        else:
            x = np.load(os.path.join(source, "input.npy"))[:2]
        t = fixture_manifest.save_inputs(out, proto, x)
        cases = []
        for cid, seed, n, slic in runs:
            ref = explain(proto, x, t, seed, n, torch.float64, slic)
            r32 = explain(proto, x, t, seed, n, torch.float32, slic)
            params = {"seed": seed, "rng": "lime", "num_samples": 1000 if n is None else n}
            if slic is not None:
                params["n_segments"] = slic
            call = (f"LimeImageExplainer(random_state={seed}).explain_instance(image, f, labels=(t,), top_labels=None"
                    + ("" if n is None else f", num_samples={n}")
                    + ("" if slic is None else f", segmentation_fn=SegmentationAlgorithm('slic', n_segments={slic})")
                    + "), the images in turn")
            segments = ("SLIC superpixels (lime's feature j hides segment label j, which starts at 1: feature 0 hides nothing, "
                        "the last segment is never hidden)" if slic is not None else "quick shift superpixels")
            other = explain(proto, x, t, seed + 100, n, torch.float64, slic)
            cases.append(fixture_manifest.case(
                out, cid, "model-agnostic", "LIME image", "lime 0.2.0.1 (scikit-image 0.26.0, scikit-learn 1.9.1; model via onnx2torch)",
                params, ref, r32, "the target logit of every perturbed image",
                call + f": {segments}, mean colours, lime's draws; each superpixel's coefficient on its pixels.",
                cross_seed_max_abs=float(np.abs(ref - other).max())))
        fixture_manifest.write(out, folder, source, "lime's own run with the image and f in float64", cases)


if __name__ == "__main__":
    main()
