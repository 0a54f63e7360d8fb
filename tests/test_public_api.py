"""``__all__`` says what each public module of ``gateway`` and ``ledger`` offers, and stays true.

A module is public when no part of its dotted name starts with ``_`` (``__init__`` is its
package). For each: ``__all__`` exists and is sorted (ruff's isort-style order: CONSTANTS,
then Classes, then functions); every name in it exists; every top-level class or function the
module defines is in it or starts with ``_``. And no module imports another package's private
module: ``gateway.rpc`` may not reach into ``gateway.identity._enums``, and ledger's internals
are used through ``ledger.<module>``. Generated protobuf code (``gateway.pb``) is left out.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "ledger")
OWN = ("gateway", "ledger", "adapters")


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources(packages: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for pkg in packages
        for p in (ROOT / pkg).rglob("*.py")
        if "/pb/" not in p.as_posix() and "node_modules" not in p.as_posix()
    )


def _is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


PUBLIC = [_dotted(p) for p in _sources(PACKAGES) if _is_public(_dotted(p))]


def _order(name: str) -> tuple[int, str]:
    if len(name) > 1 and name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def _path(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


@pytest.mark.parametrize("module", PUBLIC)
def test_all_is_declared_sorted_and_true(module):
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    exported = list(exported)
    assert exported == sorted(exported, key=_order), f"{module}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{module}.__all__ repeats a name"
    missing = [name for name in exported if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names what it does not have: {missing}"
    unlisted = sorted(
        name for name in _defined(_path(module)) - set(exported) if not name.startswith("_")
    )
    assert not unlisted, f"{module} defines public names not in __all__: {unlisted}"


def _imported_modules(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, ``from a import b`` as both
    ``a`` and ``a.b`` (``b`` may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            found.add(source)
            found |= {f"{source}.{alias.name}" for alias in node.names}
    return found


def _owner_of_private(name: str) -> str | None:
    """The package a private module belongs to (``ledger.log`` for ``ledger.log._store``), or
    ``None`` if no part of ``name`` is private."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


#: (importer, private module): why it may not go through the owner's public face.
ALLOWED = {
    ("ledger.log._anchors", "ledger.anchor._anchor_store"): "reads the anchor rows without "
    "importing ledger.anchor, whose web3 import changes the recursion limit (its docstring)",
}


def _private_module(name: str) -> str:
    """``ledger.log._store`` for ``ledger.log._store.SQLiteStore``: up to the first private."""
    parts = name.split(".")
    first = next(i for i, part in enumerate(parts) if part.startswith("_"))
    return ".".join(parts[: first + 1])


def test_no_module_imports_another_packages_private_module():
    """A private module is imported from inside its package, or by a public module of the
    parent package that is its public face (``ledger.anchor_verify`` for ``ledger.anchor``'s
    verification modules); everything else goes through the package's public names."""
    offenders = set()
    for path in _sources(OWN):
        module = _dotted(path)
        inside = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in _imported_modules(path, module):
            owner = _owner_of_private(name)
            if name.split(".")[0] not in OWN or owner is None:
                continue
            if inside == owner or inside.startswith(owner + "."):
                continue
            facade = _is_public(module) and inside == owner.rpartition(".")[0]
            if not facade and (module, _private_module(name)) not in ALLOWED:
                offenders.add(f"{module} imports {_private_module(name)}")
    assert not offenders, "\n".join(sorted(offenders))


def test_the_checks_catch_what_they_look_for():
    """The helpers above see a private import across packages and an unsorted list."""
    assert _owner_of_private("ledger.log._store") == "ledger.log"
    assert _owner_of_private("ledger.crypto._der.DERError") == "ledger.crypto"
    assert _owner_of_private("gateway.errors") is None
    assert _private_module("gateway.registry._parse.loads_strict") == "gateway.registry._parse"
    assert sorted(["clip", "Error", "REASON_CODES"], key=_order) == [
        "REASON_CODES",
        "Error",
        "clip",
    ]
    assert "gateway.errors" in PUBLIC and "ledger.errors" in PUBLIC
    assert not any(_owner_of_private(name) for name in PUBLIC)
