"""What the code imports is what pyproject.toml declares, and missing extras fail loudly.

Every third-party top-level import in ledger/, gateway/ and adapters/ must map (through
``importlib.metadata.packages_distributions()``) to a distribution named in pyproject.toml,
as a dependency or in an extra: a package that only arrives because another one pulls it in
can vanish on that package's next release. The optional parts (gmssl for the reference SM2
backend, eth-tester/py-evm for the embedded chain) are extras, and choosing one without it
installed raises one error naming the extra to install.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "gateway", "adapters")
OWN = {*PACKAGES, "protos", "__future__"}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SELF = "yrd-gateway"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str, list[Requirement]]:
    """Requirements by group: "" for the dependencies, else the extra's name."""
    groups = {"": PROJECT["dependencies"], **PROJECT["optional-dependencies"]}
    return {group: [Requirement(text) for text in texts] for group, texts in groups.items()}


def _declared() -> set[str]:
    return {_normal(r.name) for reqs in _requirements().values() for r in reqs} - {SELF}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the files importing it, for every absolute non-stdlib import."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_imports_we_know_are_there():
    """Guard against a scan that silently finds nothing."""
    imports = _third_party_imports()
    for module in ("cryptography", "grpc", "web3", "tongsuopy", "gmssl", "eth_tester"):
        assert module in imports, module


def test_every_third_party_import_is_declared():
    by_module = packages_distributions()
    declared = _declared()
    undeclared = []
    for module, files in sorted(_third_party_imports().items()):
        distributions = {_normal(d) for d in by_module.get(module, [])}
        if not distributions:
            undeclared.append(f"{module} (not installed; imported by {sorted(files)[0]})")
        elif not distributions & declared:
            undeclared.append(f"{module} from {sorted(distributions)} ({sorted(files)[0]})")
    assert not undeclared, "imported but not declared in pyproject.toml: " + "; ".join(undeclared)


def test_optional_parts_are_extras_not_dependencies():
    core = {_normal(r.name): r for r in _requirements()[""]}
    assert "gmssl" not in core
    assert "eth-tester" not in core and "py-evm" not in core
    assert "tester" not in core["web3"].extras, "web3[tester] belongs in the embedded-chain extra"
    extras = _requirements()
    assert "gmssl" in {_normal(r.name) for r in extras["reference"]}
    assert "eth-tester" in {_normal(r.name) for r in extras["embedded-chain"]}


def test_bootstrap_installs_the_extras_run_and_test_need():
    line = next(
        ln
        for ln in (ROOT / "scripts/bootstrap.sh").read_text().splitlines()
        if "pip install" in ln and "-e" in ln
    )
    installed = set(re.search(r"\.\[([^\]]*)\]", line).group(1).split(","))
    assert {"test", "reference", "embedded-chain"} <= installed


def test_installed_versions_satisfy_the_declared_ranges():
    """The ranges were written against what bootstrap installs: they must admit it."""
    wrong = []
    for group in ("", "reference", "embedded-chain", "test"):
        for requirement in _requirements()[group]:
            if requirement.name == SELF:
                continue
            if requirement.marker and not requirement.marker.evaluate({"extra": group}):
                continue
            try:
                installed = version(requirement.name)
            except PackageNotFoundError:
                wrong.append(f"{requirement.name}: not installed")
                continue
            if not requirement.specifier.contains(installed, prereleases=True):
                wrong.append(f"{requirement}: installed {installed}")
    assert not wrong, wrong


def _run_blocked(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this tree with ``blocked`` modules unimportable."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("YRD_SM2_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _last_line(out: subprocess.CompletedProcess[str]) -> str:
    return (out.stderr.strip().splitlines() or [""])[-1]


def test_without_gmssl_the_native_backend_works_and_reference_names_the_extra():
    out = _run_blocked(
        ("gmssl",),
        "from ledger.crypto import REFERENCE_AVAILABLE, PrivateKey, default_backend\n"
        "key = PrivateKey.generate()\n"
        "again = PrivateKey.from_pem(key.to_pem())\n"
        "key.public_key.verify(b'm', again.sign(b'm'))\n"
        "key.public_key.verify(b'm', again.sign(b'm', b'custom id'), b'custom id')\n"
        "print(default_backend(), REFERENCE_AVAILABLE)\n"
        "key.sign(b'm', backend='reference')\n",
    )
    assert out.stdout.strip() == "native False", out.stderr
    assert out.returncode == 1
    assert _last_line(out) == (
        "ledger.errors.MissingExtraError: the reference sm2 backend (gmssl) needs the "
        "'reference' extra, which is not installed: pip install 'yrd-gateway[reference]'"
    )


def test_reference_backend_chosen_by_environment_without_gmssl_names_the_extra():
    env_code = (
        "import os\nos.environ['YRD_SM2_BACKEND'] = 'reference'\n"
        "from ledger.crypto import PrivateKey\n"
        "PrivateKey.generate().sign(b'm')\n"
    )
    out = _run_blocked(("gmssl",), env_code)
    assert out.returncode == 1
    assert "pip install 'yrd-gateway[reference]'" in _last_line(out)


def test_without_tongsuopy_and_gmssl_no_backend_is_left_and_the_error_says_which_extra():
    out = _run_blocked(
        ("gmssl", "tongsuopy"),
        "from ledger.crypto import PrivateKey\n"
        "key = PrivateKey(12345)\n"  # d*G needs neither
        "print(key.public_key.x > 0)\n"
        "key.sign(b'm')\n",
    )
    assert out.stdout.strip() == "True", out.stderr
    assert "pip install 'yrd-gateway[reference]'" in _last_line(out)


@pytest.mark.parametrize("blocked", ["eth_tester", "eth"])
def test_embedded_chain_without_its_extra_names_the_extra(blocked: str):
    out = _run_blocked(
        (blocked,),
        "import gateway.app.anchoring, gateway.app.serve\n"  # the gateway itself imports without it
        "from ledger.anchor import EmbeddedChain, JsonRpcChain\n"
        "print('imported')\n"
        "EmbeddedChain()\n",
    )
    assert out.stdout.strip() == "imported", out.stderr
    assert out.returncode == 1
    assert _last_line(out) == (
        'ledger.errors.MissingExtraError: the embedded chain (anchor_mode = "embedded") needs '
        "the 'embedded-chain' extra, which is not installed: "
        "pip install 'yrd-gateway[embedded-chain]'"
    )
