"""Read YAML the way Kubernetes tools do: YAML 1.1, strictly typed.

Base: PyYAML's SafeLoader (YAML 1.1 types: `yes`/`on` are bools, `0755` is the int 493, merge keys, aliases,
`!!binary` gives bytes, plain dates give dates).

kubectl, the API server and Argo CD read manifests with go-yaml v2 (through sigs.k8s.io/yaml), whose resolver
types a few plain scalars that PyYAML leaves as strings (go-yaml v2 resolve.go: its bool table and
`strconv.ParseInt(s, 0, 64)` / `yamlStyleFloat`). They are typed here too, so that a change either reader
would see is a change:
  - `y`, `Y` (true) and `n`, `N` (false) are bools;
  - `1e3`, `1E+3`, `2.5e3` (a float with an exponent, with or without a sign or a dot) are floats;
  - `0o755` is an int.
"""

import re

import yaml


class Tagged:
    """A node with a tag PyYAML does not know (`!Ref foo`): kept as tag + value."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __repr__(self):
        return f"{self.tag} {self.value!r}"


class Loader(yaml.SafeLoader):
    bool_values = dict(yaml.SafeLoader.bool_values, y=True, n=False)


Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)
Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7_]+$"), list("-+0"))


def _tagged(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tagged(node.tag, value)


class TaggedLoader(Loader):
    """Unknown tags kept as Tagged(tag, value), so a lost or changed tag is a difference."""


# "!" matches every local tag (!Ref, !Sub, ...) and "tag:" every global one SafeLoader lacks.
TaggedLoader.add_multi_constructor("!", _tagged)
TaggedLoader.add_multi_constructor("tag:", _tagged)


def _untagged(loader, tag_suffix, node):
    return _tagged(loader, tag_suffix, node).value


class PlainLoader(Loader):
    """Unknown tags dropped (the value kept), as the JSON conversion in front of the API server does."""


PlainLoader.add_multi_constructor("!", _untagged)
PlainLoader.add_multi_constructor("tag:", _untagged)


def load_all(text, loader):
    """Every non-empty document of a stream (an empty `---` document means nothing to kubectl)."""
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
