#!/usr/bin/env bash
# The benchmark matrix of Docs/Performance.md: release build, 2 threads, random-weight VGG-16 and
# ResNet-50 at 224x224, median of several runs after a warm-up. Usage: Tools/bench.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
swift build -c release --product explain >/dev/null
B=.build/release/explain
for arch in vgg16 resnet50; do
  for batch in 1 8; do
    methods=forward,gradient
    [ "$batch" = 1 ] && methods=forward,gradient,smoothgrad
    r=$runs; [ "$batch" = 8 ] && r=3
    $B bench --arch "$arch" --batch "$batch" --runs "$r" --methods "$methods"
  done
done
