#!/bin/sh
# Installs ONNX Runtime for node (npm's onnxruntime-node, which carries its CPU build) into
# BUILD_DIR/ort/node_modules, where tests/axon/onnx/export_test.cpp (OnnxExportOrt.*) finds it.
# --ignore-scripts skips the package's install script, which only downloads GPU parts.
#   tests/axon/onnx/ort/install.sh build
set -eu
build=${1:?usage: install.sh BUILD_DIR}
mkdir -p "$build/ort"
cd "$build/ort"
npm install --ignore-scripts --no-audit --no-fund onnxruntime-node
