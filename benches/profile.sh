#!/usr/bin/env bash
# Counts instructions (valgrind callgrind: repeatable on a noisy machine) of the transform and of the
# parse-and-emit floor on the generated inputs, and prints the top functions of the transform.
#
#   benches/profile.sh            # 1,000 Deployments
#   benches/profile.sh 100 1000 5000 full
#
# Inputs are generated as benches/run.sh does (target/bench-profile/<case>/); profiles go to
# target/bench-profile/<case>/{transform,identity}.callgrind. Native SHA-256 uses the CPU's SHA
# extensions, which valgrind does not emulate, so callgrind counts the software SHA-256 instead.
set -euo pipefail
cd "$(dirname "$0")/.."

FIXTURES=tests/fixtures
OUT=target/bench-profile
BIN=$PWD/target/release/spinnaker-krm
command -v valgrind >/dev/null || {
  echo "benches/profile.sh: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
}

cargo build --release -p spinnaker-krm
for case in "${@:-1000}"; do
  dir=$OUT/$case
  python3 benches/generate.py "$FIXTURES" "$dir" "$case" "$BIN"
  for mode in transform identity; do
    flag=()
    [[ $mode == identity ]] && flag=(--identity)
    (cd "$dir" && valgrind --tool=callgrind --callgrind-out-file="$mode.callgrind" "$BIN" "${flag[@]}" \
      <resource-list.yaml >"$mode.out" 2>"$mode.valgrind")
    count=$(sed -n 's/.*Collected : //p' "$dir/$mode.valgrind")
    deployments=$(grep -c '^  kind: Deployment$' "$dir/resource-list.yaml" || true)
    printf '%-6s %-9s %15s instructions  (%s Deployments)\n' "$case" "$mode" "$count" "$deployments"
  done
  callgrind_annotate --inclusive=yes "$dir/transform.callgrind" 2>/dev/null |
    grep -E 'functions::|ResourceList|sha2::|_int_free|malloc' | grep -v "'2" | sed -n '1,25p'
done
