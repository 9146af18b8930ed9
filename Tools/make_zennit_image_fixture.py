#!/usr/bin/env python3
"""Makes Tests/Fixtures/arrays/zennit_image_cases.npz: zennit 0.5.1's heatmap colors, to check
ZennitPalette and the heatmap renderer's zennit mode byte for byte.

- `palette_<name>_l<level>` (256, 3) uint8: `zennit.image.palette(name, level)` for every built-in
  color map at levels 1.0, 0.5 and 2.0 (`l1_0`, `l0_5`, `l2_0`), and `palette_custom_l1_0` for the
  code `CUSTOM` below.
- `map_<k>` float32 maps and `imgify_<k>_<cmap>` (H, W, 3) uint8: what `imgify(map, symmetric=True,
  cmap=cmap, level=LEVEL[k]).convert('RGB')` shows — computed with imgify's own steps (its
  `interval_norm_bounds`, `(a - vmin) / (vmax - vmin)`, `(· 255).clip(0, 255).astype(uint8)`, then the
  palette), because zennit 0.5.1's `imgify` hands PIL a numpy palette that Pillow 11 rejects.

    pip install zennit==0.5.1 numpy pillow
    python3 Tools/make_zennit_image_fixture.py
"""
import os

import numpy as np
from zennit.image import interval_norm_bounds, palette

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "arrays", "zennit_image_cases.npz")
NAMES = ["gray", "wred", "wblue", "hot", "cold", "coldnhot", "bwr", "france", "seismic", "coolio", "coleus"]
CUSTOM = "10:0a0, 40:fff, 8040c0, 123, c0:f00 ,e0:ff8"
LEVEL = {0: 1.0, 1: 1.5}


def main():
    out = {}
    for name in NAMES:
        for level in (1.0, 0.5, 2.0):
            out[f"palette_{name}_l{str(level).replace('.', '_')}"] = palette(name, level)
    out["palette_custom_l1_0"] = palette(CUSTOM, 1.0)
    rng = np.random.RandomState(9)
    maps = {0: rng.randn(16, 16).astype(np.float32), 1: (rng.rand(7, 9) ** 3 - 0.2).astype(np.float32)}
    for k, m in maps.items():
        out[f"map_{k}"] = m
        for cmap in ("bwr", "coldnhot", "seismic"):
            vmin, vmax = interval_norm_bounds(m, symmetric=True, dim=(0, 1))
            index = (((m - vmin) / (vmax - vmin)) * 255).clip(0, 255).astype(np.uint8)
            out[f"imgify_{k}_{cmap}"] = palette(cmap, LEVEL[k])[index]
    np.savez(OUT, **out)
    print(len(out), "arrays")


if __name__ == "__main__":
    main()
