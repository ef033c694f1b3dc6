"""Read YAML input files and point at the line of a bad value.

PyYAML's composed node tree keeps the position of every node; validation errors
(pydantic ``loc`` tuples) are mapped back to ``FILE:LINE`` through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError

from auditor.core.errors import AuditorError, ConfigError

_Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"


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
    """Parse ``path``; a missing file or broken YAML raises ``error`` naming ``FILE:LINE``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc
    return parse_yaml(text, path, error, text_scalars=text_scalars)


def parse_yaml(
    text: str, path: Path, error: type[AuditorError] = ConfigError, *, text_scalars: bool = False
) -> YamlDocument:
    """Parse once: the node tree (for lines) and the data built from it (scalars as text with ``text_scalars``)."""
    loader = (_TextLoader if text_scalars else _Loader)(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise error(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, root=root)


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
