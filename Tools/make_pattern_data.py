"""Writes Examples/digits/train_sample.npy: 512 digits of the demo model's training split, preprocessed
exactly as the demo's inputs (PNG pixels, Examples/digits/preprocess.json), for the methods that
learn from data (pattern_net, pattern_attribution). Needs numpy, Pillow and scikit-learn (not torch).
Run once: python3 Tools/make_pattern_data.py"""
import json, os
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.join(os.path.dirname(__file__), "..", "Examples", "digits")
spec = json.load(open(os.path.join(OUT, "preprocess.json")))
digits = load_digits()
def to_png_pixels(img8):   # as in Tools/train_demo_model.py
    im = Image.fromarray(np.uint8(np.round(img8 * 255.0 / 16.0)), mode="L").resize((16, 16), Image.BILINEAR)
    return np.asarray(im, dtype=np.float64)
pixels = np.stack([to_png_pixels(d) for d in digits.images])
xtr, _, _, _ = train_test_split(pixels / 255.0, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
# The demo reads PNGs (8-bit pixels), so round as a PNG would, then scale and standardise.
x = np.round(xtr[:512] * 255.0) * spec["scale"]
x = ((x - spec["mean"][0]) / spec["std"][0]).astype(np.float32)[:, None]
np.save(os.path.join(OUT, "train_sample.npy"), x)
print("wrote", x.shape)
