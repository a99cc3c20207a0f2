"""``yaml.load(text, Loader=CSafeLoader)`` for large, plain YAML (an estate's inventory), with
the same result in less time.

libyaml parses and composes the node tree in C; PyYAML's constructor then walks it in Python
through generators, per-node bookkeeping and a tag dispatch, which costs more than the parse.
Here strings, lists and mappings with string keys are built straight from the nodes; any other
node (numbers, booleans, nulls, timestamps, merge keys, explicit tags) is handed to PyYAML's own
constructor, so every value is what the safe loader gives. A document whose aliases form a
cycle is loaded by the safe loader as a whole.
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Cycle(Exception):
    """An alias refers to a node that contains it."""


def load(text: str) -> Any:
    """The single document in ``text``, as ``yaml.load(text, Loader=LOADER)`` returns it;
    raises :class:`yaml.YAMLError` alike."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _build(loader, node, set())
        except _Cycle:
            return loader.construct_document(node)
    finally:
        loader.dispose()


_SCALAR, _SEQUENCE, _MAPPING = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


def _build(loader: Any, node: yaml.Node, open_nodes: set[int]) -> Any:
    cls = type(node)
    if cls is _SCALAR:
        return node.value if node.tag == _STR else loader.construct_document(node)
    key = id(node)
    if key in open_nodes:
        raise _Cycle
    open_nodes.add(key)
    if cls is _SEQUENCE and node.tag == _SEQ:
        out: Any = [_build(loader, item, open_nodes) for item in node.value]
    elif cls is _MAPPING and node.tag == _MAP:
        out = {}
        for k, v in node.value:
            if type(k) is not _SCALAR or k.tag != _STR:  # a merge key, a number: PyYAML's
                out = loader.construct_document(node)
                break
            out[k.value] = _build(loader, v, open_nodes)
    else:
        out = loader.construct_document(node)
    open_nodes.discard(key)
    return out
