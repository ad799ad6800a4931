# ipvs-proxy. On a fresh Debian machine, as root: `make demo`, then `make test`.
# Kernel tests, the demo and the benchmark need a kernel with IPVS: they run in a throwaway qemu
# VM (test/vm/run.sh) when this machine's kernel has none.

SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec
VM := test/vm/run.sh
DEB_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static ipvsadm ipset iptables conntrack \
                iproute2 kmod cpio redis-server unzip curl iputils-arping
UNIT_TESTS = $(shell find test/unit -name '*.test.ts' | sort)
# Every kernel test, in one VM boot: the addon and contracts, the proxier, iptables traffic, the
# agent end to end, operations, faults under traffic, the fleet with Redis, the demo's scenario.
# About 30 minutes under emulation on 2 CPUs (longer on a busy machine); the VM's own deadline is 75 minutes.
KERNEL_TESTS = $(shell find test/kernel -name '*.test.ts' | sort)

.PHONY: all deps debs build addon ts lint format test test-unit test-kernel demo bench clean

all: build

# Debian packages (when root and something is missing), then node_modules (when the lock changed).
deps: debs node_modules/.installed

debs:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "deps: missing Debian packages (run as root to install):" $$missing >&2; exit 1; fi; \
	fi

node_modules/.installed: package.json package-lock.json binding.gyp | debs
	npm ci --no-audit --no-fund
	@touch $@

# node-gyp as bundled with npm (no download); npm ci already built the addon once.
NODE_GYP := $(shell dirname $$(readlink -f $$(command -v npm)))/../node_modules/node-gyp/bin/node-gyp.js
ADDON := build/Release/ipvs_native.node

addon: deps $(ADDON)

$(ADDON): binding.gyp $(wildcard native/*.cc native/*.h)
	@if [ -f build/Makefile ]; then node $(NODE_GYP) build --silent; else node $(NODE_GYP) rebuild --silent; fi
	@touch $@

ts: deps
	npx tsc -p tsconfig.json

build: addon ts

test: build lint test-unit test-kernel

# The tests and benchmarks are type-checked like the agent (tsconfig.test.json emits nothing), then
# everything is linted (eslint.config.js) and held to one format (.prettierrc.json; `make format`
# rewrites the files that differ).
FORMATTED := 'src/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts' 'scripts/**/*.ts' 'bin/*.js' eslint.config.js
lint: deps
	npx tsc -p tsconfig.test.json
	npx eslint --max-warnings 0 src test bench bin scripts eslint.config.js
	npx prettier --check --log-level warn $(FORMATTED)

format: deps
	npx prettier --write --log-level warn $(FORMATTED)

test-unit: build
	NO_COLOR=1 $(NODE_TEST) $(UNIT_TESTS)

# One file at a time (they share the kernel), each in its own process: run-all.sh reports a process
# that dies of a signal with the kernel's account of it.
test-kernel: build
	$(VM) --timeout 4500 -- bash test/kernel/run-all.sh $(KERNEL_TESTS)

demo: build
	$(VM) --timeout 900 -- bash examples/demo.sh

# The VM's writes vanish: collect.sh keeps the log and writes the report files back here.
bench: build
	bash bench/collect.sh

clean:
	rm -rf build dist .vm node_modules/.installed
