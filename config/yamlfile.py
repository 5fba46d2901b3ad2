"""YAML loading that remembers where every key came from.

Validation errors must name the file, the line and the dotted key, so the loader keeps a
map from dotted key paths ("users.3.email") to (line, column) positions while building
plain Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config.errors import ConfigError, ConfigIssue

Position = tuple[int, int]


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML document with a position for every dotted key path."""

    path: Path
    data: Any
    positions: dict[str, Position]
    # Problems found while reading that still let the rest be read (duplicate keys: the
    # first value is kept), reported together with the validation's.
    problems: tuple[ConfigIssue, ...] = ()

    def position(self, loc: tuple[str | int, ...]) -> Position | None:
        """Best position for a location: the deepest known prefix of the dotted key."""
        parts = [str(p) for p in loc]
        while parts:
            pos = self.positions.get(".".join(parts))
            if pos is not None:
                return pos
            parts.pop()
        return self.positions.get("")

    def issue(self, loc: tuple[str | int, ...], message: str) -> ConfigIssue:
        """Build a ConfigIssue for a location in this document."""
        pos = self.position(loc)
        return ConfigIssue(
            file=self.path,
            key=".".join(str(p) for p in loc),
            message=message,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """The SafeLoader whose nodes the walk below turns into objects: a duplicate mapping
    key is a problem (the first value is kept so the rest can still be checked), never
    silently the last one."""


@dataclass
class _Walk:
    """State of one document's walk: positions found, problems met."""

    path: Path
    loader: yaml.SafeLoader
    positions: dict[str, Position]
    problems: list[ConfigIssue]

    def problem(self, node: Node, key: str, message: str) -> None:
        mark = node.start_mark
        self.problems.append(ConfigIssue(self.path, key, message, line=mark.line + 1, column=mark.column + 1))

    def walk(self, node: Node, path: str) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        prefix = f"{path}." if path else ""
        if isinstance(node, MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if isinstance(key, (list, dict)):
                    self.problem(key_node, path, "mapping keys must be plain values")
                    continue
                if key in result:
                    self.problem(key_node, f"{prefix}{key}", "duplicate key")
                    continue
                child = f"{prefix}{key}"
                self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.walk(value_node, child)
                self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            return result
        if isinstance(node, SequenceNode):
            return [self.walk(item, f"{prefix}{i}") for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.loader.construct_object(node, deep=True)


def load_yaml(path: Path) -> LoadedYaml:
    """Parse a YAML file, raising ConfigError (file:line:col) for unreadable or bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(path, "", "file not found")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, "", f"cannot read file: {exc.strerror}")]) from None
    loader = _UniqueKeyLoader(text)
    walk = _Walk(path, loader, {}, [])
    try:
        root = loader.get_single_node()
        data = walk.walk(root, "") if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        message = f"invalid YAML: {exc.problem}"
        if exc.context and exc.context_mark is not None:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise ConfigError(
            [
                ConfigIssue(
                    path,
                    "",
                    message,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                )
            ]
        ) from None
    finally:
        loader.dispose()
    return LoadedYaml(path=path, data=data, positions=walk.positions, problems=tuple(walk.problems))


def yaml_mapping(path: Path) -> dict[str, Any]:
    """A plain YAML file that must be a mapping (no positions kept: for files Carebridge
    wrote itself). Raises OSError, yaml.YAMLError, or ValueError when it is not a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a mapping")
    return data
