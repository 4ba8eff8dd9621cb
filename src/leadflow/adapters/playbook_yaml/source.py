"""Read playbook YAML into plain data, remembering the line and column of every node.

Parsing goes through ``yaml.compose`` with the safe loader, so no tag can construct an
object; the node tree is then turned into dicts, lists and scalars here. Scalars follow
the YAML 1.2 core schema rather than PyYAML's YAML 1.1 one, which surprises people:
mapping keys are always text (``on:`` is the key ``on``, not ``True``), only ``true`` and
``false`` are booleans (``no`` is the text ``no``), numbers with a leading zero stay text
(postal prefixes such as ``021``), and dates stay text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, Position

_CORE = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _CORE + "str", _CORE + "map", _CORE + "seq", _CORE + "merge"
_PLAIN_TAGS = frozenset(_CORE + t for t in ("int", "float", "bool", "null", "timestamp", "value"))
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+)")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
MAX_NODES = 100_000


class YamlSyntaxError(Exception):
    """The text is not valid YAML; carries the located issue."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass
class Source:
    """Plain data, where each node came from, and problems found in the YAML itself."""

    data: object
    positions: dict[NodePath, Position] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def plain_scalar(text: str) -> object:
    """An unquoted scalar's value under the YAML 1.2 core schema (dates stay text)."""
    if text in _NULLS:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _position(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Walker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.count = 0
        self.active: set[int] = set()

    def issue(
        self, path: NodePath, message: str, suggestion: str, node: NodePath | None = None
    ) -> None:
        self.source.issues.append(Issue(path, message, suggestion, node=node))

    def value(self, node: yaml.Node, path: NodePath) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlSyntaxError(
                Issue((), f"the playbook has more than {MAX_NODES} nodes", position=_position(node))
            )
        if id(node) in self.active:
            self.issue(path, "an alias refers to a node that contains it", "remove the alias")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_SEQ, _MAP):
            self.unsupported(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.child(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.mapping(node, path) if isinstance(node, yaml.MappingNode) else None
        finally:
            self.active.discard(id(node))

    def child(self, node: yaml.Node, path: NodePath) -> object:
        self.source.positions[path] = _position(node)
        return self.value(node, path)

    def scalar(self, node: yaml.ScalarNode, path: NodePath) -> object:
        if node.style is None and node.tag in _PLAIN_TAGS:
            return plain_scalar(node.value)
        if node.tag != _STR:
            self.unsupported(node, path)
        return node.value

    def unsupported(self, node: yaml.Node, path: NodePath) -> None:
        """Report a tag, then read the node as if it had none (one problem, not two)."""
        self.issue(path, f"the YAML tag `{node.tag}` is not supported", "remove the tag")

    def mapping(self, node: yaml.MappingNode, path: NodePath) -> dict[str, object]:
        result: dict[str, object] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                where = (*path, "<<")
                self.source.positions.setdefault(where, _position(key_node))
                self.issue(path, "merge keys (`<<`) are not supported", "write the keys out", where)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.issue(path, "a key must be plain text", "use a text key")
                continue
            key = str(key_node.value)
            where = (*path, key)
            line = key_node.start_mark.line + 1
            if key in first_line:
                message = f"duplicate key `{key}` (first given on line {first_line[key]})"
                self.source.issues.append(
                    Issue(path, message, "keep only one of them", position=_position(key_node))
                )
                continue
            first_line[key] = line
            self.source.positions[where] = _position(key_node)
            result[key] = self.value(value_node, where)
        return result


def parse(text: str) -> Source:
    """Parse ``text``; raises :class:`YamlSyntaxError` when it is not valid YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        message = f"invalid YAML: {what}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        raise YamlSyntaxError(Issue((), message, position=position)) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Issue((), f"invalid YAML: {exc}", position=(1, 1))) from exc
    source = Source(data=None)
    if root is None:
        source.positions[()] = (1, 1)
        return source
    source.positions[()] = _position(root)
    source.data = _Walker(source).value(root, ())
    return source
