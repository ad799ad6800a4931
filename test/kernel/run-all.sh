#!/usr/bin/env bash
# Run kernel test files one after the other, each in its own node process, and sum them up.
#
#   test/kernel/run-all.sh FILE...
#
# Why not one `node --test` over all of them: when a file's process dies of a signal, the test
# runner says only 'test failed' for the file, and the signal and the kernel's account of it are
# lost. Here each file runs directly (same reporter, same flags), its exit status is ours to read,
# and a death is reported with the signal and the kernel log lines written meanwhile (an invalid
# opcode, a segfault, the OOM killer).
#
# A file whose process failed before a single test reported (no result in its TAP) is run again,
# up to three runs in all, and every run is reported. Under software emulation (qemu TCG) node dies now and then at
# start-up, while tsx compiles a test file the first time in a boot: SIGSEGV, SIGILL, or a
# WebAssembly "memory access out of bounds" from tsx's wasm lexer (reproduced in the VM with a
# cold tsx cache: fleet-e2e.test.ts crashed at start-up in 5 of 8 runs, up to four in a row,
# never natively). A file that fails that way three times, a death after any test reported, and
# any failed assertion fail the run.
set -uo pipefail
[ $# -gt 0 ] || { echo "kernel-tests: no test files given" >&2; exit 2; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
kernel_log_lines() { dmesg 2>/dev/null | wc -l; }
# The kernel's lines about processes it stopped, written after line $1 of its log.
kernel_account() {
  dmesg 2>/dev/null | tail -n +"$(($1 + 1))" \
    | grep -E 'traps:|segfault|invalid opcode|general protection|Out of memory|Killed process|oom-kill' \
    | sed 's/^/kernel-tests:   kernel: /'
}

# run_file FILE TAP -> the node process's exit status
run_file() {
  NO_COLOR=1 node --import tsx --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$2" "$1"
}

failed=() retried=() total_pass=0 total_fail=0 started=$SECONDS
for file in "$@"; do
  for attempt in 1 2 3; do
    tap="$results/$(basename "$file").$attempt.tap"
    log_mark=$(kernel_log_lines)
    file_started=$SECONDS
    echo "kernel-tests: $file"
    run_file "$file" "$tap"
    rc=$?
    if [ "$rc" -gt 128 ]; then
      signal=$(kill -l $((rc - 128)) 2>/dev/null || echo "signal $((rc - 128))")
      echo "kernel-tests: $file: the process died of SIG$signal after $((SECONDS - file_started)) s"
      kernel_account "$log_mark"
    fi
    if [ "$rc" != 0 ] && [ "$attempt" -lt 3 ] && ! grep -qE '^ *(not )?ok ' "$tap" 2>/dev/null; then
      echo "kernel-tests: $file: failed (exit $rc) before any test reported; running it again (see run-all.sh)"
      [ "$attempt" = 1 ] && retried+=("$file")
      continue
    fi
    pass=$(sed -n 's/^# pass //p' "$tap" 2>/dev/null | tail -n 1)
    fail=$(sed -n 's/^# fail //p' "$tap" 2>/dev/null | tail -n 1)
    total_pass=$((total_pass + ${pass:-0}))
    total_fail=$((total_fail + ${fail:-0}))
    [ "$rc" = 0 ] || failed+=("$file (exit $rc)")
    break
  done
done

echo
echo "kernel-tests: $# files in $((SECONDS - started)) s: $total_pass tests passed, $total_fail failed"
for f in "${retried[@]}"; do echo "kernel-tests: run again (a run failed before any test reported): $f"; done
if [ ${#failed[@]} -gt 0 ]; then
  for f in "${failed[@]}"; do echo "kernel-tests: FAILED: $f"; done
  exit 1
fi
