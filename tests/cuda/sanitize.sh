#!/usr/bin/env bash
# Runs the GPU tests under compute-sanitizer: sanitize.sh SANITIZER TOOL TEST_PROGRAM.
# Exit 77 (skipped) where no GPU is visible or compute-sanitizer is missing.
set -u
sanitizer=$1 tool=$2 program=$3
status=0
"$program" --list-tests > /dev/null || status=$?
if [ "$status" -eq 77 ]; then "$program"; exit 77; fi  # prints the reason it skips
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ -z "$sanitizer" ] || [ ! -x "$sanitizer" ]; then
  echo "skipped: compute-sanitizer not found (it ships with the CUDA Toolkit, in its bin folder)"
  exit 77
fi
# the conformance suite covers every CUDA kernel; racecheck is slow, so it runs that alone
exec "$sanitizer" --tool "$tool" --error-exitcode 1 "$program" "[conformance]"
