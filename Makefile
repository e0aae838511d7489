# The README's commands. `make run` and `make test` install what is missing first.
JOBS ?= $(shell nproc)
BUILD_DIR := build
CTEST_JOBS ?= 2

.PHONY: build run test test-asan bench deps fuzz clean format

deps:
	@scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt:
	cmake --preset release >/dev/null

# Optimised with debug info, incremental.
build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: deps build
	@scripts/run-local

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(CTEST_JOBS) --timeout 300

# The unit and integration tests under ASan+UBSan (Debug); .ci/run runs it after `make test`.
test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(CTEST_JOBS) --timeout 600

# Release build in build-bench/, every scenario, docs/BENCHMARKS.md rewritten (QUICK=1: short, no docs).
bench: deps
	@scripts/install-deps --bench
	@BENCH_COMMAND="make bench$(if $(QUICK), QUICK=1,)" scripts/run-bench $(if $(QUICK),--quick,)

fuzz:
	@scripts/install-deps --fuzz
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_publish_body fuzz_gzip_inflate fuzz_subscription_body \
	    fuzz_http_request fuzz_redis_reply fuzz_cidr fuzz_traceparent fuzz_channel_names

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR) build-debug build-asan build-fuzz
