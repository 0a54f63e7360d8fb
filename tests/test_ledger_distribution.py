"""``yrd-ledger`` stands alone for auditors (issue 16, item 5): its wheel holds ``ledger`` and
nothing of the gateway, installs into a fresh venv that has only its declared dependencies, and
there ``yrd-audit verify`` passes on a receipt that a real gateway issued over mTLS gRPC; and
``yrd-audit`` loads no web3/eth/EVM module unless a command talks to a chain.

No network: the wheel is built with ``--no-build-isolation`` and installed with ``--no-index``;
the fresh venv (no system site-packages) sees the dependency closure of yrd-ledger's core
requirements -- linked from this interpreter's site-packages, nothing else -- through one .pth.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "packages" / "yrd-ledger"
CHAIN_MODULES = ("web3", "eth", "eth_tester", "eth_abi", "eth_account", "eth_utils", "eth_typing")
TIMEOUT = 120  # s, each subprocess: a hung build or CLI fails, never hangs


def _run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT, check=False, **kw
    )


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH and no YRD_* settings from the test run leak into the auditor's venv."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("YRD_")}


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> Path:
    """receipt.json and trust.json from one real exchange through a gateway on loopback."""
    out = tmp_path_factory.mktemp("issued")
    gw = GatewayThread(tmp_path_factory.mktemp("gw")).start()
    try:

        async def submit() -> str:
            async with gw.client("SH") as client:
                receipt = await client.submit(status_update(client, gw.env))
            return receipt.receipt_json

        (out / "receipt.json").write_text(asyncio.run(submit()), encoding="utf-8")
        shutil.copyfile(gw.env.trust_path, out / "trust.json")
    finally:
        gw.stop()
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The yrd-ledger wheel, built from a copy of packages/yrd-ledger (the build writes its
    build/ and egg-info there, not in the checkout) whose ``ledger`` links to ROOT/ledger."""
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(PROJECT / name, project / name)
    (project / "ledger").symlink_to(ROOT / "ledger", target_is_directory=True)
    dist = tmp_path_factory.mktemp("dist")
    out = _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "--no-index", "-w", dist, project,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (built,) = dist.glob("yrd_ledger-*.whl")
    return built


def _closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that ``requirements`` (no extras) pull in, transitively."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        dist = metadata.distribution(req.name)
        key = dist.metadata["Name"].lower()
        if key not in seen:
            seen[key] = dist
            todo += [Requirement(r) for r in dist.requires or []]
    return list(seen.values())


@pytest.fixture(scope="module")
def auditor_venv(tmp_path_factory, wheel: Path) -> Path:
    """A fresh venv with the wheel installed and only its core dependencies importable."""
    base = tmp_path_factory.mktemp("auditor")
    venv = base / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    out = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", wheel,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    deps = base / "deps"
    deps.mkdir()
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
    core = [
        line.split(":", 1)[1].strip()
        for line in meta.decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    for dist in _closure(core):
        tops = {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}
        for top in tops:
            (deps / top).symlink_to(Path(str(dist.locate_file(top))))
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "yrd-ledger-deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    return venv


def test_the_wheel_holds_the_ledger_and_nothing_of_the_gateway(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    tops = {n.split("/")[0] for n in names}
    name, version = wheel.name.split("-")[:2]
    assert tops == {"ledger", f"{name}-{version}.dist-info"}
    assert "ledger/audit_cli.py" in names and "ledger/contracts/AnchorRegistry.json" in names
    assert not [n for n in names if "node_modules" in n]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as zf:
        assert "yrd-audit = ledger.audit_cli:main" in zf.read(entry_points).decode()


def test_an_auditors_install_verifies_a_gateway_receipt_without_the_gateway_or_web3(
    auditor_venv: Path, issued: Path
):
    python, audit = auditor_venv / "bin" / "python", auditor_venv / "bin" / "yrd-audit"
    env, cwd = _clean_env(), auditor_venv.parent  # not the checkout: nothing of ours on sys.path
    probe = _run(
        python, "-c",
        "import importlib.util as u, ledger; "
        "print(ledger.__file__); "
        "print([m for m in ('gateway', 'adapters', 'web3', 'eth', 'gmssl') if u.find_spec(m)])",
        env=env, cwd=cwd,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    where, present = probe.stdout.splitlines()
    assert Path(where).is_relative_to(auditor_venv), where
    assert present == "[]", present  # no gateway code, no chain libraries in this install
    assert _run(audit, "--help", env=env, cwd=cwd).returncode == 0
    out = _run(
        audit, "verify", issued / "receipt.json", "--trust", issued / "trust.json",
        env=env, cwd=cwd,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "ok   inclusion proof" in out.stdout and "ok   checkpoint signature" in out.stdout
    assert out.stdout.splitlines()[-1].startswith("VALID: entry ")
    # a tampered receipt is refused there too: the install checks, it does not just print VALID
    receipt = json.loads((issued / "receipt.json").read_text(encoding="utf-8"))
    receipt["leaf_index"] += 1
    (cwd / "bad.json").write_text(json.dumps(receipt), encoding="utf-8")
    trust = issued / "trust.json"
    bad = _run(audit, "verify", cwd / "bad.json", "--trust", trust, env=env, cwd=cwd)
    assert bad.returncode == 1 and bad.stderr.startswith("INVALID: "), bad.stderr
    # --rpc without the chain extra: one usage error naming the extra, before any check
    rpc = _run(
        audit, "verify", issued / "receipt.json", "--trust", issued / "trust.json",
        "--rpc", "http://127.0.0.1:9", env=env, cwd=cwd,
    )  # fmt: skip
    assert rpc.returncode == 2 and rpc.stdout == "", (rpc.stdout, rpc.stderr)
    assert rpc.stderr.strip() == (
        "yrd-audit: error: yrd-audit --rpc (a chain over JSON-RPC) needs the 'chain' extra, "
        "which is not installed: pip install 'yrd-ledger[chain]'"
    )


_LOADED = (
    "import json, sys\n"
    "from ledger.audit_cli import main\n"
    "try:\n"
    "    rc = main(sys.argv[2:]) if sys.argv[1] == 'cli' else __import__(sys.argv[2]) and 0\n"
    "except SystemExit as exc:\n"
    "    rc = exc.code\n"
    f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({CHAIN_MODULES!r}))\n"
    "print('loaded', json.dumps([rc, loaded]))\n"
)


@pytest.mark.parametrize(
    ("argv", "chain_loaded"),
    [
        (["cli", "verify", "{receipt}", "--trust", "{trust}"], False),
        (["cli", "--help"], False),
        # the control: the chain commands' module does load them, so the check can fail
        (["import", "ledger.anchor_verify"], True),
    ],
)
def test_yrd_audit_loads_no_chain_module_unless_it_talks_to_a_chain(
    issued: Path, argv: list[str], chain_loaded: bool
):
    args = [a.format(receipt=issued / "receipt.json", trust=issued / "trust.json") for a in argv]
    out = _run(sys.executable, "-c", _LOADED, *args, cwd=ROOT)
    line = next((x for x in out.stdout.splitlines() if x.startswith("loaded ")), None)
    assert line is not None, out.stderr
    rc, loaded = json.loads(line.removeprefix("loaded "))
    assert rc == 0, out.stderr
    assert bool(loaded) is chain_loaded, loaded
    if chain_loaded:
        assert "web3" in loaded


def test_the_ledger_core_requirements_match_the_gateways():
    """yrd-ledger's core ranges equal yrd-gateway's for the same packages (one truth)."""
    ledger = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    gateway = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    ours = {Requirement(r).name: r for r in gateway["dependencies"]}
    extras = {Requirement(r).name: r for g in gateway["optional-dependencies"].values() for r in g}
    for group in (ledger["dependencies"], *ledger["optional-dependencies"].values()):
        for text in group:
            req = Requirement(text)
            if req.name == "yrd-ledger":
                continue
            assert text in (ours.get(req.name), extras.get(req.name)), text
    for script in ("yrd-audit", "yrd-sequencer", "yrd-witness"):
        assert ledger["scripts"][script] == gateway["scripts"][script], script


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_of_the_ledger_is_declared_by_yrd_ledger():
    """What ``ledger/`` imports comes from yrd-ledger's dependencies or one of its extras (the
    gateway's list, which tests/test_dependencies.py checks, is not the auditor's)."""
    ledger = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = [ledger["dependencies"], *ledger["optional-dependencies"].values()]
    declared = {_normal(Requirement(t).name) for g in groups for t in g} - {"yrd-ledger"}
    by_module = metadata.packages_distributions()
    imported: set[str] = set()
    for path in (ROOT / "ledger").rglob("*.py"):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(imported - set(sys.stdlib_module_names) - {"ledger", "__future__"})
    assert {"cryptography", "tongsuopy", "web3", "gmssl", "eth_tester"} <= set(third_party)
    undeclared = [
        m for m in third_party if not {_normal(d) for d in by_module.get(m, [])} & declared
    ]
    assert not undeclared, undeclared
