"""Pydantic validation errors as located, readable issues with suggestions."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, did_you_mean, one_of
from leadflow.adapters.playbook_yaml.values import PLAYBOOK_ERROR

_MESSAGES: dict[str, str] = {
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "string_type": "expected text",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "finite_number": "expected a finite number",
}


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the interesting type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def model_at(root: type[BaseModel], path: NodePath) -> type[BaseModel] | None:
    """The model that validates the node at ``path``, if that node is a model."""
    annotation: Any = root
    for part in path:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if isinstance(part, int) and origin in (list, tuple):
            annotation = get_args(annotation)[0]
        elif isinstance(part, str) and origin is dict:
            annotation = get_args(annotation)[1]
        elif isinstance(part, str) and isinstance(annotation, type):
            if not issubclass(annotation, BaseModel):
                return None
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if part not in fields:
                return None
            annotation = fields[part].annotation
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as written in YAML."""
    return [f.alias or name for name, f in model.model_fields.items()]


_ABSENT = object()


def _child(node: object, part: str | int) -> object:
    if isinstance(node, Mapping) and isinstance(part, str):
        return node.get(part, _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _followed(data: object, loc: NodePath) -> NodePath:
    """The longest prefix of ``loc`` that exists in ``data`` (drops pydantic's extras)."""
    node = data
    kept: list[str | int] = []
    for part in loc:
        node = _child(node, part)
        if node is _ABSENT:
            break
        kept.append(part)
    return tuple(kept)


def _message(error: ErrorDetails) -> tuple[str, str | None]:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind], None
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        return ("must not be empty" if need == 1 else f"needs at least {need} items"), None
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sign = {"greater_than": ">", "greater_than_equal": "≥"}.get(kind)
        sign = sign or {"less_than": "<", "less_than_equal": "≤"}[kind]
        bound = next(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le"))
        return f"must be {sign} {bound}", None
    return str(error["msg"]).removeprefix("Value error, "), None


def issues_from(exc: ValidationError, data: object, root: type[BaseModel]) -> list[Issue]:
    """One issue per pydantic error, at the node it concerns."""
    issues: list[Issue] = []
    for error in exc.errors():
        loc: NodePath = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            model = model_at(root, loc[:-1])
            keys = allowed_keys(model) if model else []
            hint = did_you_mean(key, keys) or (one_of(keys) if keys else None)
            issues.append(Issue(loc[:-1], f"unknown field `{key}`", hint, node=loc))
        elif kind == "missing":
            issues.append(Issue(loc[:-1], f"missing required field `{loc[-1]}`"))
        elif kind == PLAYBOOK_ERROR:
            ctx = error.get("ctx") or {}
            path = _followed(data, loc) + tuple(ctx.get("at") or ())
            issues.append(Issue(path, str(ctx["message"]), ctx.get("suggestion")))
        else:
            message, hint = _message(error)
            issues.append(Issue(_followed(data, loc), message, hint))
    return issues
