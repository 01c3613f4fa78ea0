"""Reading plan files and collecting their problems, each as ``file: field: problem``.

Pure: no Flask, no database.
"""

from __future__ import annotations

import tomllib
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")
# "<roadmap>/<step>" and "<roadmap>/<phase>" must fit the 120-character id columns.
SLUG_MAX = 50


class PlanError(Exception):
    """One or more problems in plan files, each as ``file: field: problem``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Checker:
    """Collect problems while reading one file, so all of them are reported at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def fail(self, field: str, problem: str) -> None:
        self.problems.append(f"{self.name}: {field}: {problem}")

    def table(
        self, data: Any, field: str, required: set[str], optional: AbstractSet[str] = frozenset()
    ) -> bool:
        if not isinstance(data, dict):
            self.fail(field or "(file)", "must be a table")
            return False
        for key in sorted(set(data) - required - optional):
            self.fail(join(field, key), "unknown key")
        for key in sorted(required - set(data)):
            self.fail(join(field, key), "is required")
        return True

    def text(self, data: dict[str, Any], field: str, key: str) -> str:
        value = data.get(key)
        if key in data and (not isinstance(value, str) or not value.strip()):
            self.fail(join(field, key), "must be a non-empty string")
        return value.strip() if isinstance(value, str) else ""

    def slug(self, data: dict[str, Any], field: str, seen: set[str]) -> str:
        value = self.text(data, field, "id")
        if value and not set(value) <= SLUG_CHARS:
            self.fail(join(field, "id"), f"{value!r} must use only a-z, 0-9 and '-'")
        elif len(value) > SLUG_MAX:
            self.fail(join(field, "id"), f"{value!r} is longer than {SLUG_MAX} characters")
        elif value and value in seen:  # a missing id is reported once, as required
            self.fail(join(field, "id"), f"duplicate id {value!r}")
        seen.add(value)
        return value

    def integer(self, data: dict[str, Any], field: str, key: str, low: int, high: int) -> int:
        value = data.get(key)
        if key not in data:
            return 0
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(join(field, key), f"must be a whole number from {low} to {high}")
            return 0
        return value

    def items(self, data: dict[str, Any], field: str, key: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(join(field, key), "must be a list")
            return []
        return value


def join(field: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{field}[{key}]"
    return f"{field}.{key}" if field else key


def read_toml(path: Path, check: Checker) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        check.fail("(file)", f"cannot read: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        check.fail("(file)", f"invalid TOML: {e}")
    return {}


def read_toml_text(text: str, check: Checker) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message names the line and column
        check.fail("(file)", f"invalid TOML: {e}")
    return {}


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and " " not in value
