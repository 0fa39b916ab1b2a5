"""The apps are layered (docs/DESIGN-NOTES.md, "Layers"): a module imports only apps below its own.

Parses every module (tests and migrations aside) and fails on an import that goes up or sideways into a
higher layer, wherever it sits (module level, inside a function, or under TYPE_CHECKING).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["core", "accounts", "pricing", "ledger", "compliance", "earn", "notifications", "pools", "statements",
          "liabilities", "portal", "monitoring"]
RANK = {app: rank for rank, app in enumerate(LAYERS)}

# Imports still going up, each with the work that removes it. Keep this list shrinking.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def upward_imports() -> list[tuple[str, str]]:
    bad = []
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for imported in _imports(path):
                top = imported.split(".")[0]
                if top in RANK and RANK[top] > RANK[app]:
                    bad.append((module, imported))
    return bad


def test_no_app_imports_a_higher_layer() -> None:
    bad = [pair for pair in upward_imports() if pair not in KNOWN_UPWARD]
    assert bad == [], "imports going up a layer (register from AppConfig.ready instead): " + repr(bad)


def test_the_known_exceptions_are_still_real() -> None:
    """An exception that no longer exists must leave the list, so the list only shrinks."""
    assert set(upward_imports()) >= KNOWN_UPWARD


@pytest.mark.parametrize("app", LAYERS)
def test_every_layer_is_an_app_with_code(app: str) -> None:
    assert (ROOT / app / "apps.py").exists()
