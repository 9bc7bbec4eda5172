# Thin wrappers over CMake. Every target installs what it needs first (`make deps`).
#   make demo    the main job: trains a CNN on Fashion-MNIST (examples/fashion_mnist_cnn.cpp);
#                ARGS="--epochs 3" passes options to it
#   make test    everything CI runs: g++ Release tests, clang ASan+UBSan tests, install check,
#                fuzz smoke runs
#   make bench   benchmarks against PyTorch and ONNX Runtime (bench/README.md); FILTER=REGEX
#                selects some

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FILTER ?= .
ARGS ?=

DEPS := build-essential cmake ninja-build ccache clang libclang-rt-14-dev libomp-14-dev \
        libdnnl-dev libgtest-dev libgmock-dev zlib1g-dev nlohmann-json3-dev python3-numpy \
        dataset-fashion-mnist libonnx-dev libprotobuf-dev python3-onnx python3-torch \
        python3-torchvision libxbyak-dev
BENCH_DEPS := python3-torch python3-torchvision

.PHONY: deps deps-bench ort build test test-release test-asan test-install test-fuzz demo bench clean

deps:
	@missing=$$(for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

deps-bench: deps
	@missing=$$(for p in $(BENCH_DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

test: test-release test-asan test-install test-fuzz

test-release: build ort
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# ONNX Runtime for node (npm's onnxruntime-node): the OnnxExportOrt tests run exported models in
# it and the onnx.* benchmarks compare with it; without npm's registry the tests skip (and say
# so) and the benchmarks report it unmeasured. A node from elsewhere (nodesource) carries its
# own npm, so only a machine without npm gets Debian's nodejs and npm.
ort: deps
	@test -f $(BUILD)/ort/node_modules/onnxruntime-node/package.json || \
	  { { command -v npm >/dev/null || { apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }; } && \
	    timeout 900 sh tests/axon/onnx/ort/install.sh $(BUILD) >/dev/null; } || \
	  echo "ONNX Runtime (npm onnxruntime-node) not installed: OnnxExportOrt tests will skip"

test-asan: deps
	CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DAXON_SANITIZE=ON -DAXON_BUILD_BENCH=OFF -DAXON_BUILD_EXAMPLES=OFF -DAXON_BUILD_FUZZ=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) -LE slow

test-install: build
	bash tests/install/run.sh $(BUILD)

test-fuzz: test-asan
	bash fuzz/run.sh $(ASAN_BUILD) 20

demo: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS) --target fashion_mnist_cnn
	./$(BUILD)/examples/fashion_mnist_cnn --out $(BUILD)/fashion_mnist_out $(ARGS)

bench: deps-bench ort
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS) --target nx_bench
	/usr/bin/python3 bench/run.py --build $(BUILD) --filter '$(FILTER)'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
