#!/usr/bin/env python3
"""Generates the benchmark inputs for one case (see docs/benchmarks.md).

    generate.py FIXTURES OUT_DIR (full | N)

`full` is one spinnaker-kustomize install (11 Deployments, 11 Services, the Namespace, 2 ConfigMaps = 25
objects); `N` is N Deployments cycling over the 11 services (the first 11 carry the service names, the rest
`<svc>-<k>`). The Deployments are the spinnaker-kustomize base ones (FIXTURES/spinnaker-kustomize/base/<svc>/
deployment.yml, comments kept) with the labels, selector and namespace its kustomizations add.

OUT_DIR receives:
  resource-list.yaml     the ResourceList a runner sends (items with kustomize's annotations, the functionConfig)
  bom/1.27.0.yml         the BOM (relative to the function's working directory)
  spinnaker-krm.yaml     the SpinnakerPlatform (truststore init-container, mTLS need, issuer create)
  kubectl/               the kustomize-only equivalent: resources + images: + strategic-merge patches
  krm/                   standalone kustomize with the function as an exec transformer
  plain/                 the same resources, no transformers (standalone kustomize's own cost)
  krm-cat/               the same with /bin/cat as the exec function (kustomize's cost of running a function)

Only the standard library: the output is text built from the fixture text, so comments and quoting stay as the
fixtures have them.
"""

import os
import shutil
import sys

SERVICES = ["clouddriver", "deck", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"]
REGISTRY = "us-docker.pkg.dev/spinnaker-community/docker"
BOM_VERSION = "1.27.0"
# The pins the BOM 1.27.0 (and extraPins for keel) give; the kubectl equivalent needs them spelled out.
KEEL_PIN = "0.1.0-20210331200022-slim"

PLATFORM = """\
apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
  annotations:
    config.kubernetes.io/local-config: "true"
    config.kubernetes.io/function: |
      exec:
        path: @EXEC_PATH@
spec:
  namespace: spinnaker
  bom:
    version: @BOM_VERSION@
    dir: bom
    extraPins:
      keel: @KEEL_PIN@
  truststore:
    mode: init-container
    caBundle: {configMap: spinnaker-cert-trust-bundle, key: mtls-cacerts}
    passwordSecret: {name: certificate-secrets, key: TLS_INTERNAL_KEYSTORE_PASSWORD}
  mtls:
    enabled: true
    clientAuth: need
    issuer: {kind: ClusterIssuer, name: spinnaker-ca, create: true}
"""


CAT_FUNCTION = """\
apiVersion: bench.spinnaker-krm.dev/v1
kind: Cat
metadata:
  name: cat
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: /bin/cat
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def indent(text, prefix):
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def deployment(base, svc, name):
    """The fixture Deployment of `svc` as kustomize renders it, named `name`."""
    text = read(os.path.join(base, svc, "deployment.yml"))
    head, body = text.split("  template:\n    spec:\n", 1)
    replicas = next(line for line in head.splitlines() if line.startswith("  replicas:"))
    labels = (
        f"app.kubernetes.io/instance: {name}\napp.kubernetes.io/name: {svc}\napp.kubernetes.io/part-of: spinnaker\n"
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n"
        + indent(labels, "    ")
        + f"  name: {name}\n  namespace: spinnaker\nspec:\n{replicas}\n  selector:\n    matchLabels:\n"
        + indent(labels, "      ")
        + "  template:\n    metadata:\n      labels:\n"
        + indent(labels, "        ")
        + "    spec:\n"
        + body
    )


def service(base, svc):
    text = read(os.path.join(base, svc, "service.yml"))
    return text.replace("metadata:\n", "metadata:\n  namespace: spinnaker\n", 1)


def config_map(name, key, content):
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: spinnaker\n"
        f"data:\n  {key}: |\n" + indent(content, "    ")
    )


def objects(base, case):
    """(kind, name, text) of every object of the case."""
    if case == "full":
        out = [("Namespace", "spinnaker", read(os.path.join(base, "namespace.yml")))]
        spinnaker_yml = read(os.path.join(base, "spinnaker.yml"))
        out.append(("ConfigMap", "spinnaker", config_map("spinnaker", "spinnaker.yml", spinnaker_yml)))
        clouddriver_yml = "server:\n  port: 7002\n"
        out.append(("ConfigMap", "clouddriver", config_map("clouddriver", "clouddriver.yml", clouddriver_yml)))
        for svc in SERVICES:
            out.append(("Deployment", svc, deployment(base, svc, svc)))
            out.append(("Service", svc, service(base, svc)))
        return out
    out = []
    for i in range(int(case)):
        svc = SERVICES[i % len(SERVICES)]
        round_ = i // len(SERVICES)
        name = svc if round_ == 0 else f"{svc}-{round_}"
        out.append(("Deployment", name, deployment(base, svc, name)))
    return out


def with_kustomize_annotations(text, kind, name, index):
    """The annotations `kustomize build` adds to the items it sends to a function (krm-runtime.md §12.2)."""
    group_version = next(line for line in text.splitlines() if line.startswith("apiVersion:")).split(":", 1)[1].strip()
    group, version = group_version.split("/") if "/" in group_version else ("", group_version)
    ident = (f"group: {group}\n" if group else "") + f"kind: {kind}\nname: {name}\n"
    if kind != "Namespace":
        ident += "namespace: spinnaker\n"
    ident += f"version: {version}\n"
    annotations = (
        "kustomize.config.k8s.io/id: |\n"
        + indent(ident, "  ")
        + f"config.kubernetes.io/index: '{index}'\n"
        + f"internal.config.kubernetes.io/index: '{index}'\n"
        + f"internal.config.kubernetes.io/annotations-migration-resource-id: '{index}'\n"
        + f"internal.config.kubernetes.io/id: '{index + 1}'\n"
        + f"config.k8s.io/id: '{index + 1}'\n"
    )
    return text.replace("metadata:\n", "metadata:\n  annotations:\n" + indent(annotations, "    "), 1)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    fixtures, out, case = sys.argv[1:4]
    exec_path = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 else "spinnaker-krm"
    base = os.path.join(fixtures, "spinnaker-kustomize", "base")
    objs = objects(base, case)
    platform = (
        PLATFORM.replace("@EXEC_PATH@", exec_path).replace("@BOM_VERSION@", BOM_VERSION).replace("@KEEL_PIN@", KEEL_PIN)
    )
    bom = os.path.join(fixtures, "bom", f"{BOM_VERSION}.yml")

    # The ResourceList, and the BOM beside it (the function's working directory is OUT_DIR).
    items = "".join(
        "- " + indent(with_kustomize_annotations(text, kind, name, i), "  ")[2:]
        for i, (kind, name, text) in enumerate(objs)
    )
    resource_list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + items
    resource_list += "functionConfig:\n" + indent(platform, "  ")
    write(os.path.join(out, "resource-list.yaml"), resource_list)
    write(os.path.join(out, "spinnaker-krm.yaml"), platform)
    stream = "---\n".join(text for _, _, text in objs)
    for sub in ("", "krm"):
        os.makedirs(os.path.join(out, sub, "bom"), exist_ok=True)
        shutil.copyfile(bom, os.path.join(out, sub, "bom", f"{BOM_VERSION}.yml"))

    # Standalone kustomize running the function, and the same build without it.
    write(os.path.join(out, "krm", "resources.yaml"), stream)
    write(os.path.join(out, "krm", "spinnaker-krm.yaml"), platform)
    kustomization = "resources:\n- resources.yaml\ntransformers:\n- {}\n"
    write(os.path.join(out, "krm", "kustomization.yaml"), kustomization.format("spinnaker-krm.yaml"))
    write(os.path.join(out, "plain", "resources.yaml"), stream)
    write(os.path.join(out, "plain", "kustomization.yaml"), "resources:\n- resources.yaml\n")
    # The same with `cat` as the exec function: what kustomize itself spends to run any function.
    write(os.path.join(out, "krm-cat", "resources.yaml"), stream)
    write(os.path.join(out, "krm-cat", "cat.yaml"), CAT_FUNCTION)
    write(os.path.join(out, "krm-cat", "kustomization.yaml"), kustomization.format("cat.yaml"))

    # What a user would write instead: images: with the BOM's pins, and per service a strategic-merge patch that
    # adds the init container and volumes the function adds (copied from its output by patches.py).
    write(os.path.join(out, "kubectl", "resources.yaml"), stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
