"""Read YAML input files and point at the line of a bad value.

PyYAML's composed node tree keeps the position of every node; validation errors
(pydantic ``loc`` tuples) are mapped back to ``FILE:LINE`` through it.

What operators write is held to a stricter YAML than PyYAML's, each problem a ``FILE:LINE`` error:

- **no aliases** (``*name``): an alias shares a node, and a few lines of aliases to aliases expand into
  billions of values when validated (the "billion laughs"); no file the auditor reads needs one;
- **no repeated key** in a mapping: YAML loaders silently keep the last one;
- **values that do not construct** (``until: 2026-02-30``: PyYAML raises a bare ``ValueError``) are
  found node by node, so the line is known; any other failure of the loader is the same error class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError

from auditor.config.files import read_text
from auditor.core.errors import AuditorError, ConfigError

_Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"
_CHECKED_TAGS = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float", "tag:yaml.org,2002:int"})


class _TextLoader(_Loader):  # type: ignore[misc,valid-type]
    """Every plain scalar but null stays the text it is written as.

    Prometheus decodes a rule file into Go strings, which take any scalar's text: ``for: 0``,
    ``severity: 5`` and ``expr: 1e3`` are the strings ``0``, ``5`` and ``1e3``, never numbers.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == _NULL_TAG]
        for first, resolvers in _Loader.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True, slots=True)
class YamlDocument:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[int | str]) -> int:
        """1-based line of the value at ``loc``; the nearest known ancestor when ``loc`` is not in the file."""
        node, line = self.root, 1
        for key in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = _child(node, key)
        if node is not None:
            line = node.start_mark.line + 1
        return line

    def where(self, loc: Sequence[int | str]) -> str:
        return f"{self.path}:{self.line_of(loc)}"


def _child(node: yaml.Node, key: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None


def load_yaml(path: Path, error: type[AuditorError] = ConfigError, *, text_scalars: bool = False) -> YamlDocument:
    """Parse ``path``; a missing file, one that is not a regular file, or broken YAML raises ``error`` naming
    ``FILE:LINE``."""
    return parse_yaml(read_text(path, error), path, error, text_scalars=text_scalars)


def parse_yaml(
    text: str, path: Path, error: type[AuditorError] = ConfigError, *, text_scalars: bool = False
) -> YamlDocument:
    """Parse once: the node tree (for lines) and the data built from it (scalars as text with ``text_scalars``)."""
    loader = (_TextLoader if text_scalars else _Loader)(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _Strict(loader, path, error, text).check(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise error(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from exc
    except Exception as exc:  # whatever the loader raises: an input error, not a crash
        if isinstance(exc, AuditorError):
            raise
        raise error(f"{path}: invalid YAML: {exc or type(exc).__name__}") from exc
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, root=root)


class _Strict:
    """One pass over the composed nodes: aliases, repeated keys and scalars that would not construct."""

    def __init__(self, loader: Any, path: Path, error: type[AuditorError], text: str) -> None:
        self.loader, self.path, self.error, self.text = loader, path, error, text
        self.seen: set[int] = set()

    def check(self, root: yaml.Node) -> None:
        stack: list[yaml.Node] = [root]
        while stack:
            node = stack.pop()
            if id(node) in self.seen:
                self.alias()
            self.seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                self.mapping(node, stack)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.ScalarNode) and node.tag in _CHECKED_TAGS:
                self.scalar(node)

    def mapping(self, node: yaml.MappingNode, stack: list[yaml.Node]) -> None:
        keys: dict[str, int] = {}
        children: list[yaml.Node] = []
        for key, value in node.value:
            text = str(key.value) if isinstance(key, yaml.ScalarNode) else None
            if text is not None and text in keys:
                self.fail(key, f"key {text!r} is repeated (first at line {keys[text]}): keep one")
            if text is not None:
                keys[text] = key.start_mark.line + 1
            children += [key, value]
        stack.extend(children)

    def scalar(self, node: yaml.ScalarNode) -> None:
        try:
            self.loader.construct_object(node)
        except Exception as exc:  # PyYAML raises what its constructors raise (AttributeError for `!!timestamp x`)
            self.fail(node, f"{node.value!r} is not a valid value: {exc or type(exc).__name__}")

    def alias(self) -> None:
        """A shared node is an alias; the events of a second parse know where the first one is written."""
        events = yaml.parse(self.text, Loader=_Loader)
        line = next((e.start_mark.line + 1 for e in events if isinstance(e, yaml.AliasEvent) and e.start_mark), 1)
        raise self.error(f"{self.path}:{line}: YAML aliases (*name) are not accepted here: write the value out")

    def fail(self, node: yaml.Node, message: str) -> None:
        raise self.error(f"{self.path}:{node.start_mark.line + 1}: {message}")


def validation_messages(exc: ValidationError, doc: YamlDocument, reference: str = "") -> list[str]:
    """One ``FILE:LINE: field: message`` line per pydantic error, the line found through the YAML nodes."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = _yaml_loc(err["loc"])
        field_name = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{doc.where(loc)}: {field_name}: {_message(err, reference)}")
    return lines


def _yaml_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's synthetic parts (``[key]`` of dict values) so the path follows the YAML."""
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith("[")))


def _message(err: Any, reference: str) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown key (check the spelling; see {reference})" if reference else "unknown key (check the spelling)"
    if err["type"] in {"int_type", "float_type", "int_parsing", "float_parsing"}:
        return f"{msg} (got {err['input']!r})"
    return msg
