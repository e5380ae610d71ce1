#!/usr/bin/env bash
# Fuzz smoke: builds every target and runs each for a few seconds, starting
# from its committed seeds (which replays them all first). Exits non-zero
# when a target crashes; the input is left in fuzz/artifacts/<target>/.
#
#   fuzz/smoke.sh              # 5 seconds per target
#   FUZZ_SMOKE_SECONDS=30 fuzz/smoke.sh
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SMOKE_SECONDS:-5}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke: cargo-fuzz needs a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $(cargo +nightly fuzz list); do
  echo "fuzz smoke: $target for ${seconds}s"
  mkdir -p "$work/$target"
  dict=()
  if [ -f "dict/$target.dict" ]; then dict=(-dict="dict/$target.dict"); fi
  cargo +nightly fuzz run "$target" "$work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 "${dict[@]}"
done
echo "fuzz smoke: every target ran ${seconds}s without a crash"
