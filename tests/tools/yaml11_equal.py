#!/usr/bin/env python3
"""Are two multi-document YAML streams equal as data, the way a YAML 1.1 reader (kubectl, Argo CD) sees them?

usage: yaml11_equal.py [--strip-annotations PREFIX,...] [--unwrap] A B

Both streams are read with PyYAML's SafeLoader (YAML 1.1: `yes` is a bool, `0755` is the int 493, merge
keys are applied, aliases are resolved), plus what kubectl's go-yaml v2 also types (`y`/`n` bools, `1e3`
floats, `0o755` ints: see k8syaml.py), and:
  - `!!binary` keeps its bytes (SafeLoader's own constructor);
  - any other tag (`!Ref foo`) is kept as (tag, value), so a lost or changed tag is a difference.

Comparison is strict about types: the bool `true` is not the int `1`, the int `1` is not the float `1.0`,
the string "yes" is not the bool `yes`. Mapping order does not matter; sequence order does. Empty documents
(a stray `---`) are ignored, as kubectl ignores them.

  --strip-annotations P1,P2  drop annotations whose key starts with one of the prefixes, from every
                             metadata.annotations in a document (a pod template's too; a map left
                             empty is dropped, and so is a nested metadata), e.g. the ones kpt adds:
                             config.kubernetes.io/,internal.config.kubernetes.io/,config.k8s.io/id
  --unwrap                   a document that is a ResourceList is replaced by its `items`

Exit 0 when equal; 1 with the first differing path on stdout; 2 on a usage or read error.
"""

import argparse
import math
import sys

import yaml

from k8syaml import Tagged, TaggedLoader, load_all


def load_stream(path):
    if path == "-":
        text = sys.stdin.read()
    else:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    return load_all(text, TaggedLoader)


def unwrap(docs):
    out = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "ResourceList":
            out.extend(doc.get("items") or [])
        else:
            out.append(doc)
    return out


def strip_annotations(node, prefixes, top=True):
    """Drop matching keys from every `metadata.annotations` in the document (the object's own and nested
    ones such as a pod template's); an annotations map left empty is dropped, and so is a nested
    `metadata` map left empty."""
    if isinstance(node, list):
        for item in node:
            strip_annotations(item, prefixes, top=False)
        return
    if not isinstance(node, dict):
        return
    metadata = node.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
        annotations = metadata["annotations"]
        for key in list(annotations):
            if any(str(key).startswith(p) for p in prefixes):
                del annotations[key]
        if not annotations:
            del metadata["annotations"]
        if not metadata and not top:
            del node["metadata"]
    for key, value in list(node.items()):
        if key != "metadata":
            strip_annotations(value, prefixes, top=False)


def describe(value):
    if isinstance(value, Tagged):
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


def first_difference(a, b, path):
    """The path and reason of the first difference, or None."""
    if type(a) is not type(b):
        return f"{path}: {describe(a)} != {describe(b)}"
    if isinstance(a, Tagged):
        if a.tag != b.tag:
            return f"{path}: tag {a.tag} != {b.tag}"
        return first_difference(a.value, b.value, f"{path}<{a.tag}>")
    if isinstance(a, dict):
        for key in a:
            if key not in b:
                return f"{path}.{key}: only in A ({describe(a[key])})"
        for key in b:
            if key not in a:
                return f"{path}.{key}: only in B ({describe(b[key])})"
        for key in a:
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        return None
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    if a != b:
        return f"{path}: {describe(a)} != {describe(b)}"
    return None


def label(doc, index):
    if isinstance(doc, dict) and "kind" in doc:
        kind = doc.get("kind")
        metadata = doc.get("metadata")
        name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
        return f"doc[{index}]({kind}/{name})"
    return f"doc[{index}]"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--strip-annotations", default="", metavar="PREFIX,...")
    parser.add_argument("--unwrap", action="store_true")
    args = parser.parse_args(argv)
    try:
        a, b = load_stream(args.a), load_stream(args.b)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        print(f"error: cannot read: {e}", file=sys.stderr)
        return 2
    if args.unwrap:
        a, b = unwrap(a), unwrap(b)
    prefixes = [p for p in args.strip_annotations.split(",") if p]
    if prefixes:
        for doc in a + b:
            strip_annotations(doc, prefixes)
    for i, (x, y) in enumerate(zip(a, b)):
        found = first_difference(x, y, label(x, i))
        if found:
            print(found)
            return 1
    if len(a) != len(b):
        print(f"document count: {len(a)} != {len(b)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
