#!/usr/bin/env bash
# Regenerates Sources/Plugins/ONNX/Generated/onnx-subset.pb.swift from Tools/onnx/onnx-subset.proto.
# Needs Debian's protobuf-compiler and protoc-gen-swift built from swift-protobuf 1.39.0:
#   apt-get install -y protobuf-compiler
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0
#   swift build -c release --product protoc-gen-swift
# then run:  PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift Tools/onnx/generate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}"
mkdir -p Sources/Plugins/ONNX/Generated
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public \
  --swift_out=Sources/Plugins/ONNX/Generated \
  -I Tools/onnx Tools/onnx/onnx-subset.proto
echo "wrote Sources/Plugins/ONNX/Generated/onnx-subset.pb.swift"
