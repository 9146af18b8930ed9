#!/usr/bin/env python3
"""The Python peers' times on this machine, for Docs/Performance.md: PyTorch forward, Captum Saliency
and zennit's EpsilonPlusFlat / EpsilonGammaBox on random-weight torchvision VGG-16 and ResNet-50 at
224 x 224, CPU, 2 threads, median of several runs after a warm-up (the protocol of BUILD-NOTES).

    pip install torch==2.5.1 torchvision==0.20.1 captum==0.9.0 zennit==0.5.1
    python3 Tools/bench_peers.py [runs] [batch ...]

Not used by the tests or CI.
"""
import statistics
import sys
import time

import torch
import torchvision
from captum.attr import Saliency
from zennit.composites import EpsilonGammaBox, EpsilonPlusFlat
from zennit.torchvision import ResNetCanonizer, SequentialMergeBatchNorm


def median_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    batches = [int(b) for b in sys.argv[2:]] or [1]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for name in ["vgg16", "resnet50"]:
        model = getattr(torchvision.models, name)(weights=None).eval()
        canonizers = [SequentialMergeBatchNorm()] if name == "vgg16" else [ResNetCanonizer()]
        for batch in batches:
            x = torch.rand(batch, 3, 224, 224)

            def forward():
                with torch.no_grad():
                    model(x)

            def saliency():
                inp = x.clone().requires_grad_(True)
                Saliency(model).attribute(inp, target=0)

            def zennit_run(composite):
                def run():
                    inp = x.clone().requires_grad_(True)
                    with composite.context(model) as modified:
                        out = modified(inp)
                        seed = torch.zeros_like(out)
                        seed[:, 0] = out[:, 0]
                        torch.autograd.grad(out, inp, seed)
                return run

            rows = [("forward", forward), ("captum Saliency", saliency),
                    ("zennit EpsilonPlusFlat", zennit_run(EpsilonPlusFlat(canonizers=canonizers))),
                    ("zennit EpsilonGammaBox", zennit_run(EpsilonGammaBox(low=-2.2, high=2.7, canonizers=canonizers)))]
            for label, fn in rows:
                print(f"{name} batch {batch}: {label:24s} {median_time(fn, runs):.4f} s", flush=True)


if __name__ == "__main__":
    main()
