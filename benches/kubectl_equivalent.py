#!/usr/bin/env python3
"""Writes CASE_DIR/kubectl/kustomization.yaml: what a user would do with kustomize alone instead of spinnaker-krm.

    kubectl_equivalent.py TRANSFORMED CASE_DIR

TRANSFORMED is spinnaker-krm's output (a ResourceList) for the full install. From it this takes, per service,
the pinned image (for `images:`) and the init container and volumes the function added (for a strategic-merge
patch that targets that service's Deployments by label). The patches add only the init container and the
volumes, not the env, mounts, probes and Certificates, so kustomize does less work than the function.

Needs PyYAML (./test.sh installs it into .tools/venv).
"""

import os
import sys

import yaml

OURS = "spinnaker-krm-"
# The image repository of the generated inputs (generate.py).
INPUT_REGISTRY = "us-docker.pkg.dev/spinnaker-community/docker"


def main():
    transformed, case_dir = sys.argv[1:3]
    with open(transformed, encoding="utf-8") as f:
        items = yaml.safe_load(f)["items"]
    images = {}
    patches = {}
    for item in items:
        if item.get("kind") != "Deployment":
            continue
        svc = item["metadata"]["labels"]["app.kubernetes.io/name"]
        pod = item["spec"]["template"]["spec"]
        repository, tag = pod["containers"][0]["image"].rsplit(":", 1)
        images[svc] = (repository, tag)
        init = [c for c in pod.get("initContainers", []) if c["name"].startswith(OURS)]
        volumes = [v for v in pod.get("volumes", []) if v["name"].startswith(OURS)]
        if init or volumes:
            patches[svc] = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "any"},
                "spec": {"template": {"spec": {"initContainers": init, "volumes": volumes}}},
            }
    out = os.path.join(case_dir, "kubectl")
    os.makedirs(os.path.join(out, "patches"), exist_ok=True)
    kustomization = {"resources": ["resources.yaml"], "images": [], "patches": []}
    for svc, (repository, tag) in images.items():
        image = {"name": f"{INPUT_REGISTRY}/{svc}", "newTag": tag}
        if repository != image["name"]:
            image["newName"] = repository
        kustomization["images"].append(image)
    for svc, patch in patches.items():
        path = f"patches/{svc}.yaml"
        with open(os.path.join(out, path), "w", encoding="utf-8") as f:
            yaml.safe_dump(patch, f, sort_keys=False)
        kustomization["patches"].append(
            {"path": path, "target": {"kind": "Deployment", "labelSelector": f"app.kubernetes.io/name={svc}"}}
        )
    with open(os.path.join(out, "kustomization.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(kustomization, f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
