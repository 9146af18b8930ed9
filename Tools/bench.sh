#!/usr/bin/env bash
# The benchmark matrix of Docs/Performance.md: release build, 2 threads, random-weight VGG-16 and
# ResNet-50 at 224x224, median of several runs after a warm-up. The forward pass is timed before
# and after the explanation methods in the same process (the machine's speed drifts); ratios use
# the mean of the two. Usage: Tools/bench.sh [runs at batch 1] [runs at batch 8]
set -euo pipefail
cd "$(dirname "$0")/.."
runs1="${1:-7}"
runs8="${2:-3}"
shift $(( $# < 2 ? $# : 2 ))
swift build -c release --product explain >/dev/null
B=.build/release/explain
for arch in vgg16 resnet50; do
  for batch in 1 8; do
    r=$runs1; [ "$batch" = 8 ] && r=$runs8
    methods=forward,gradient,lrp.epsilon_plus_flat,lrp.epsilon_gamma_box
    [ "$batch" = 1 ] && methods=$methods,smoothgrad
    $B bench --arch "$arch" --batch "$batch" --runs "$r" --methods "$methods,forward" --set low=-2.2 --set high=2.7 "$@"
  done
done
