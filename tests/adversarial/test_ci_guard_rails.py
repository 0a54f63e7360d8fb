"""Findings 13 and 14: the suite passes on a fresh machine and no test can hang CI.

13. Without ``PYTHONDONTWRITEBYTECODE`` the generated-code test read ``__pycache__/*.pyc``
    as text and died with ``UnicodeDecodeError``; it is run here in a plain environment.
14. Delivery streams (``async for``) and ``while True`` polls had no deadline. Every such
    loop in ``tests/`` must now be bounded: inside ``asyncio.timeout(...)``, inside a
    function awaited through ``asyncio.wait_for``, or (for ``while True``) checking a
    ``deadline``. pytest-timeout ends any test after 300 s, and ``.ci/run`` runs ruff and mypy.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib

from tests.adversarial.serving import REPO

TESTS = REPO / "tests"


def test_protos_test_passes_when_bytecode_is_written():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    target = "tests/gateway/test_protos.py::test_generated_imports_use_the_gateway_package"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert list((REPO / "gateway" / "pb").rglob("*.pyc")), "no bytecode was written"


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _waited_functions(tree: ast.AST) -> set[str]:
    """Names of functions called inside ``asyncio.wait_for(f(...), ...)`` in this module."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for"
            and node.args
            and isinstance(node.args[0], ast.Call)
            and isinstance(node.args[0].func, ast.Name)
        ):
            names.add(node.args[0].func.id)
    return names


def _is_timeout_block(node: ast.AST) -> bool:
    return isinstance(node, ast.AsyncWith) and any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr in ("timeout", "timeout_at")
        for item in node.items
    )


def _bounded_by_enclosing(node: ast.AST, parents: dict, waited: set[str]) -> bool:
    while node in parents:
        node = parents[node]
        if _is_timeout_block(node):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in waited:
            return True
    return False


def _checks_a_deadline(loop: ast.While) -> bool:
    for node in ast.walk(loop):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
        if isinstance(name, str) and "deadline" in name.lower():
            return True
    return False


def unbounded_loops(source: str) -> list[tuple[int, str]]:
    """``(line, kind)`` of every ``async for`` or ``while True`` loop with no deadline."""
    tree = ast.parse(source)
    parents, waited = _parents(tree), _waited_functions(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFor) or (
            isinstance(node, ast.comprehension) and node.is_async
        ):
            if not _bounded_by_enclosing(node, parents, waited):
                found.append((getattr(node, "lineno", None) or parents[node].lineno, "async for"))
        elif (
            isinstance(node, ast.While)
            and isinstance(node.test, ast.Constant)
            and node.test.value is True
            and not _checks_a_deadline(node)
            and not _bounded_by_enclosing(node, parents, waited)
        ):
            found.append((node.lineno, "while True"))
    return found


def test_the_loop_checker_tells_bounded_from_unbounded():
    assert unbounded_loops("async def f(s):\n    async for x in s:\n        pass\n") == [
        (2, "async for")
    ]
    assert unbounded_loops("def f():\n    while True:\n        pass\n") == [(2, "while True")]
    bounded = (
        "import asyncio, time\n"
        "async def f(s):\n"
        "    async with asyncio.timeout(5):\n"
        "        async for x in s:\n"
        "            pass\n"
        "        return [y async for y in s]\n"
        "def g():\n"
        "    deadline = time.monotonic() + 5\n"
        "    while True:\n"
        "        assert time.monotonic() < deadline\n"
        "async def h(s):\n"
        "    async def poll():\n"
        "        while True:\n"
        "            await s()\n"
        "    await asyncio.wait_for(poll(), 5)\n"
    )
    assert unbounded_loops(bounded) == []


def test_no_test_waits_without_a_deadline():
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {kind}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, kind in unbounded_loops(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "loops with no deadline:\n" + "\n".join(offenders)


def test_every_test_has_a_timeout(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("timeout")
    assert 0 < float(pytestconfig.getini("timeout")) <= 600


def test_ci_runs_lint_then_types_then_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if not line.startswith("#")]
    steps = [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
        "bash test.sh -q -p no:cacheprovider",
    ]
    missing = [step for step in steps if step not in commands]
    assert not missing, f".ci/run does not run {missing}"
    order = [commands.index(step) for step in steps]
    assert order == sorted(order), f".ci/run runs its steps out of order: {commands}"


# What ``mypy --strict`` turns on; mypy only accepts ``strict`` globally, so the ledger's
# override must list each flag.
STRICT_FLAGS = (
    "disallow_any_generics",
    "disallow_subclassing_any",
    "disallow_untyped_calls",
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "check_untyped_defs",
    "disallow_untyped_decorators",
    "warn_unused_ignores",
    "warn_return_any",
    "no_implicit_reexport",
    "strict_equality",
    "extra_checks",
)


def test_mypy_is_strict_on_the_ledger_and_ruff_checks_async_code():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    assert sorted(mypy["files"]) == ["adapters", "gateway", "ledger"]
    ledger = [o for o in mypy["overrides"] if "ledger.*" in o["module"]]
    assert len(ledger) == 1, "one override for the ledger package"
    lax = [flag for flag in STRICT_FLAGS if ledger[0].get(flag) is not True]
    assert not lax, f"the ledger is not checked with {lax}"
    assert "ASYNC" in config["tool"]["ruff"]["lint"]["select"]
