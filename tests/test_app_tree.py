"""Keyport's apps form a tree: each imports only apps below it (docs/architecture.md). Every import
counts, at the top of a module or inside a function; only `if TYPE_CHECKING:` blocks do not, as
they never run."""

import ast
from collections.abc import Iterator
from pathlib import Path

KEYPORT = Path(__file__).resolve().parents[1] / "keyport"

# Bottom to top. An app may import the apps of the layers below its own, never one of its own
# layer or above.
LAYERS: list[set[str]] = [
    {"lib"},
    {"audit"},
    {"facilities"},
    {"emails"},
    {"staff"},
    {"contacts"},
    {"bookings"},
    {"cars"},
    {"access"},
    {"billing"},
    {"frontdesk", "payments"},
    {"imports"},
    {"documents", "events"},
    {"worker"},
    {"api", "portal", "dashboard"},
    {"demo"},
]
LAYER_OF = {app: index for index, apps in enumerate(LAYERS) for app in apps}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(module, line) of every import that runs: TYPE_CHECKING blocks left out."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        stack.extend(ast.iter_child_nodes(node))


def app_imports() -> Iterator[tuple[str, str, str]]:
    """(importing app, imported app, where) for every import of one Keyport app by another."""
    for path in sorted(KEYPORT.rglob("*.py")):
        relative = path.relative_to(KEYPORT)
        if len(relative.parts) < 2 or "migrations" in relative.parts:
            continue
        app = relative.parts[0]
        for module, line in _imported_modules(ast.parse(path.read_text(), str(path))):
            parts = module.split(".")
            if parts[0] == "keyport" and len(parts) > 1 and parts[1] != app and parts[1] in LAYER_OF:
                yield app, parts[1], f"keyport/{relative}:{line}"


def test_every_app_has_a_layer() -> None:
    apps = {path.parent.name for path in KEYPORT.glob("*/apps.py")}
    assert apps == set(LAYER_OF)


def test_apps_import_only_apps_below_them() -> None:
    upward: dict[tuple[str, str], list[str]] = {}
    for app, imported, where in app_imports():
        if LAYER_OF[imported] >= LAYER_OF[app]:
            upward.setdefault((app, imported), []).append(where)
    assert not upward, "imports up the tree (docs/architecture.md):\n" + "\n".join(
        f"{app} -> {imported}: {', '.join(places)}" for (app, imported), places in sorted(upward.items())
    )


def test_the_walk_sees_imports_inside_functions_and_skips_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from keyport.access.models import AccessGrant\n"
        "def f():\n    from keyport.billing.models import Invoice\n"
    )
    assert sorted(module for module, _ in _imported_modules(ast.parse(source))) == [
        "keyport.billing.models",
        "typing",
    ]
