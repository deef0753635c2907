#!/usr/bin/env python3
"""Validate every document of YAML streams against the real schemas in tests/fixtures.

usage: validate.py [--allow-unknown] [--fixtures DIR] [FILE ...]     (no FILE, or "-": stdin)

Documents are read as kubectl reads them: YAML 1.1 (PyYAML SafeLoader plus go-yaml v2's extra types, see
k8syaml.py), so `on` is a bool and `0755` is 493, and a scalar that lost its quotes fails its schema. A ResourceList is replaced by its `items`.

Schemas, by apiVersion + kind:
  apps/v1 Deployment, v1 Service, v1 ConfigMap, v1 Secret
      k8s-json-schema/v1.33.0-standalone-strict/*.json (JSON Schema 2020-12, additionalProperties false)
  spinnaker.io/v1alpha2 and spinnaker.armory.io/v1alpha2 SpinnakerService
      spinnaker-operator/crds/spinnaker.io_spinnakerservices.yaml
  cert-manager.io/v1 Certificate, CertificateRequest, Issuer, ClusterIssuer
      cert-manager/cert-manager.io_*.yaml
  trust.cert-manager.io/v1alpha1 Bundle, trust-manager.io/v1alpha2 ClusterBundle
      trust-manager/*.yaml
  argoproj.io/v1alpha1 Application
      argocd/application-crd.yaml

A CRD's openAPIV3Schema is converted to JSON Schema following the Kubernetes structural-schema rules, with
one deliberate difference: the API server PRUNES a field the schema does not declare, which silently drops
a setting, so here an undeclared field is an ERROR. In detail:
  - an object with `properties` and no `additionalProperties` accepts no other field;
  - an object with neither accepts no field at all (metadata excepted: it gets the strict ObjectMeta of
    the Kubernetes schemas);
  - `x-kubernetes-preserve-unknown-fields: true` accepts any other field (and any content there);
  - `x-kubernetes-int-or-string` accepts an integer or a string; `nullable: true` also accepts null;
  - `x-kubernetes-list-type: set | map` rejects duplicate items / duplicate `x-kubernetes-list-map-keys`;
  - `x-kubernetes-validations` (CEL rules) and `format` are not checked.

Every object must also have a string apiVersion and kind and a non-empty string metadata.name. A kind with
no schema is a problem ("no schema") unless --allow-unknown is given.

Exit 0 when every document is valid; 1 with one line per problem on stdout, as
`<kind>/<name>: <json path>: <message>`; 2 on a usage or read error.
"""

import argparse
import base64
import datetime
import json
import os
import sys
from pathlib import Path

import jsonschema
import yaml

from k8syaml import PlainLoader, load_all

K8S_DIR = "k8s-json-schema/v1.33.0-standalone-strict"
K8S = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
}
# (apiVersion, kind) -> (CRD file, kind in the CRD, version in the CRD)
CRDS = {
    ("spinnaker.io/v1alpha2", "SpinnakerService"): (
        "spinnaker-operator/crds/spinnaker.io_spinnakerservices.yaml",
        "SpinnakerService",
        "v1alpha2",
    ),
    # Armory's commercial operator serves the same schema under its own group.
    ("spinnaker.armory.io/v1alpha2", "SpinnakerService"): (
        "spinnaker-operator/crds/spinnaker.io_spinnakerservices.yaml",
        "SpinnakerService",
        "v1alpha2",
    ),
    ("cert-manager.io/v1", "Certificate"): ("cert-manager/cert-manager.io_certificates.yaml", "Certificate", "v1"),
    ("cert-manager.io/v1", "CertificateRequest"): (
        "cert-manager/cert-manager.io_certificaterequests.yaml",
        "CertificateRequest",
        "v1",
    ),
    ("cert-manager.io/v1", "Issuer"): ("cert-manager/cert-manager.io_issuers.yaml", "Issuer", "v1"),
    ("cert-manager.io/v1", "ClusterIssuer"): ("cert-manager/cert-manager.io_clusterissuers.yaml", "ClusterIssuer", "v1"),
    ("trust.cert-manager.io/v1alpha1", "Bundle"): ("trust-manager/trust.cert-manager.io_bundles.yaml", "Bundle", "v1alpha1"),
    ("argoproj.io/v1alpha1", "Application"): ("argocd/application-crd.yaml", "Application", "v1alpha1"),
    ("trust-manager.io/v1alpha2", "ClusterBundle"): (
        "trust-manager/trust-manager.io_clusterbundles.yaml",
        "ClusterBundle",
        "v1alpha2",
    ),
}

# OpenAPI v3 keywords that mean the same in JSON Schema 2020-12.
COPIED = (
    "type",
    "required",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
)


def jsonable(value):
    """bytes (!!binary) -> base64 text, dates -> ISO text: what sigs.k8s.io/yaml hands the API server."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def convert(schema, path, object_meta):
    """openAPIV3Schema (structural) -> JSON Schema 2020-12, undeclared fields rejected."""
    out = {k: schema[k] for k in COPIED if k in schema}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        return {**out, "type": ["integer", "string"]}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    for keyword in ("anyOf", "allOf", "oneOf"):
        if keyword in schema:
            out[keyword] = [convert(s, path, object_meta) for s in schema[keyword]]
    if "not" in schema:
        out["not"] = convert(schema["not"], path, object_meta)
    if "items" in schema:
        out["items"] = convert(schema["items"], path + "[]", object_meta)
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    props = schema.get("properties")
    if props is not None:
        out["properties"] = {k: convert(v, f"{path}.{k}", object_meta) for k, v in props.items()}
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = convert(additional, path + ".*", object_meta)
    elif additional is True or preserve:
        pass
    elif additional is False:
        out["additionalProperties"] = False
    elif schema.get("type") == "object":
        if path == "$.metadata" and props is None:
            return object_meta
        if schema.get("x-kubernetes-embedded-resource"):
            out.setdefault("properties", {})
            for key in ("apiVersion", "kind"):
                out["properties"].setdefault(key, {"type": "string"})
            out["properties"].setdefault("metadata", object_meta)
        out["additionalProperties"] = False
    return out


def _list_type(validator, list_type, instance, schema):
    if not isinstance(instance, list):
        return
    if list_type == "set":
        seen = []
        for i, item in enumerate(instance):
            if item in seen:
                yield jsonschema.ValidationError(f"item {i} duplicates an earlier item of a set list: {item!r}")
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen = {}
        for i, item in enumerate(instance):
            if not isinstance(item, dict):
                continue
            key = json.dumps([item.get(k) for k in keys])
            if key in seen:
                yield jsonschema.ValidationError(
                    f"item {i} has the same {'/'.join(keys)} as item {seen[key]} of a map list: {key}"
                )
            seen.setdefault(key, i)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-type": _list_type}
)


class Schemas:
    def __init__(self, fixtures):
        self.fixtures = Path(fixtures)
        self.cache = {}
        self.crd_kinds = set()

    def object_meta(self):
        deployment = self._json(K8S[("apps/v1", "Deployment")])
        return deployment["properties"]["metadata"]

    def _json(self, name):
        with open(self.fixtures / K8S_DIR / name) as f:
            return json.load(f)

    def get(self, api_version, kind):
        key = (api_version, kind)
        if key in self.cache:
            return self.cache[key]
        if key in K8S:
            validator = jsonschema.Draft202012Validator(self._json(K8S[key]))
        elif key in CRDS:
            file, crd_kind, version = CRDS[key]
            validator = Validator(self._crd(file, crd_kind, version))
            self.crd_kinds.add(key)
        else:
            validator = None
        self.cache[key] = validator
        return validator

    def _crd(self, file, kind, version):
        with open(self.fixtures / file) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd["spec"]["names"]["kind"] != kind:
                    continue
                for v in crd["spec"]["versions"]:
                    if v["name"] == version:
                        return convert(v["schema"]["openAPIV3Schema"], "$", self.object_meta())
        raise SystemExit(f"error: {file} has no {kind} {version}")


def json_path(error):
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def check(doc, schemas, allow_unknown):
    """Problems of one document, as (json path, message)."""
    if not isinstance(doc, dict):
        return "?", "?", [("$", f"a document must be a mapping, not {type(doc).__name__}")]
    problems = []
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    for field, value in (("apiVersion", api_version), ("kind", kind)):
        if not isinstance(value, str) or not value:
            problems.append((f"$.{field}", f"must be a non-empty string, got {value!r}"))
    if not isinstance(name, str) or not name:
        problems.append(("$.metadata.name", f"must be a non-empty string, got {name!r}"))
    label_kind = kind if isinstance(kind, str) and kind else "?"
    label_name = name if isinstance(name, str) and name else "?"
    typed = isinstance(api_version, str) and isinstance(kind, str)
    validator = schemas.get(api_version, kind) if typed else None
    if validator is None:
        if typed and not allow_unknown:
            problems.append(("$", f"no schema for apiVersion {api_version!r} kind {kind!r} (use --allow-unknown)"))
        return label_kind, label_name, problems
    crd = (api_version, kind) in schemas.crd_kinds
    for error in sorted(validator.iter_errors(doc), key=lambda e: (json_path(e), e.message)):
        message = error.message
        if crd and error.validator == "additionalProperties":
            message += " (the API server would prune it: a silently lost setting)"
        problems.append((json_path(error), message))
    return label_kind, label_name, problems


def read_docs(source):
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    docs = []
    for doc in load_all(text, PlainLoader):
        if isinstance(doc, dict) and doc.get("kind") == "ResourceList":
            docs.extend(doc.get("items") or [])
        else:
            docs.append(doc)
    return [jsonable(d) for d in docs]


def default_fixtures():
    return str(Path(__file__).resolve().parents[1] / "fixtures")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=["-"])
    parser.add_argument("--allow-unknown", action="store_true")
    parser.add_argument("--fixtures", default=default_fixtures())
    args = parser.parse_args(argv)
    if not Path(args.fixtures, K8S_DIR).is_dir():
        print(f"error: no schemas under {args.fixtures}: pass --fixtures", file=sys.stderr)
        return 2
    schemas = Schemas(args.fixtures)
    failed = False
    count = 0
    for source in args.files:
        try:
            docs = read_docs(source)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            print(f"error: cannot read {source}: {e}", file=sys.stderr)
            return 2
        for doc in docs:
            count += 1
            kind, name, problems = check(doc, schemas, args.allow_unknown)
            for path, message in problems:
                failed = True
                print(f"{kind}/{name}: {path}: {message}")
    if count == 0:
        print("no documents to validate")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
