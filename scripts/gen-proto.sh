#!/usr/bin/env bash
# Regenerates src/onnx/proto/ from proto/onnx.proto (copied from Debian's libonnx-dev, ONNX 1.12,
# Apache-2.0). Needs protoc (Debian protobuf-compiler). The output is committed, so neither the
# build nor CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
protoc --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out=src/onnx/proto --es_opt=target=ts,import_extension=ts \
  --proto_path=proto proto/onnx.proto
