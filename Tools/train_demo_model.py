#!/usr/bin/env python3
"""Trains the bundled demo model (Examples/digits): a small CNN on scikit-learn's digits data set
(8x8 images, shipped with scikit-learn, no download), exported to ONNX, plus 8 test digits as
16x16 PNG files, their labels and the preprocessing spec. Run once; CI never needs PyTorch.

    pip install torch==2.5.1 scikit-learn onnx pillow
    python3 Tools/train_demo_model.py
"""
import json, os
import numpy as np
import torch, torch.nn as nn
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.join(os.path.dirname(__file__), "..", "Examples", "digits")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
np.random.seed(0)

digits = load_digits()
# As PNG pixels: 0..16 scaled to 0..255, upsampled bilinearly to 16x16 (what a user's image would be).
def to_png_pixels(img8):
    im = Image.fromarray(np.uint8(np.round(img8 * 255.0 / 16.0)), mode="L").resize((16, 16), Image.BILINEAR)
    return np.asarray(im, dtype=np.float64)
pixels = np.stack([to_png_pixels(d) for d in digits.images])          # (n, 16, 16), 0..255
scaled = pixels / 255.0
xtr, xte, ytr, yte = train_test_split(scaled, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
mean, std = float(xtr.mean()), float(xtr.std())
norm = lambda a: torch.tensor(((a - mean) / std)[:, None], dtype=torch.float32)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 10))
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
X, Y = norm(xtr), torch.tensor(ytr)
for epoch in range(15):
    perm = torch.randperm(len(X))
    for i in range(0, len(X), 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
        loss.backward()
        opt.step()
model.eval()
with torch.no_grad():
    acc = (model(norm(xte)).argmax(1).numpy() == yte).mean()
print(f"test accuracy {acc:.4f}")

torch.onnx.export(model, norm(xte[:2]), os.path.join(OUT, "model.onnx"), input_names=["input"], output_names=["logits"],
                  opset_version=17, dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
# 8 test digits (first of classes 0..7 in the test split) as PNG files.
labels = {}
for k in range(8):
    i = int(np.where(yte == k)[0][0])
    name = f"digit_{k}.png"
    Image.fromarray(np.uint8(np.round(xte[i] * 255.0)), mode="L").save(os.path.join(OUT, name))
    labels[name] = int(yte[i])
json.dump(labels, open(os.path.join(OUT, "labels.json"), "w"), indent=1, sort_keys=True)
json.dump({"grayscale": True, "resize": [16, 16], "scale": 1 / 255.0, "mean": [mean], "std": [std]},
          open(os.path.join(OUT, "preprocess.json"), "w"), indent=1)
json.dump({"test_accuracy": float(acc), "classes": [str(c) for c in range(10)]}, open(os.path.join(OUT, "model.json"), "w"), indent=1)
print("wrote", sorted(os.listdir(OUT)))
