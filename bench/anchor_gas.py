"""Gas per anchor of AnchorRegistry on the embedded chain, against the event-only alternative.

    .venv/bin/python bench/anchor_gas.py [--anchors N]

Measures, with the committed artifact (the chosen design: one root slot plus one packed
(block, time) slot per anchor, latest size per origin):

- deployment gas, grant gas;
- the first anchor of an origin (its latest-size slot goes from zero to non-zero);
- steady-state anchors (mean, min, max over N), split into the 21,000 intrinsic gas, calldata
  and execution.

If node and ledger/contracts/node_modules are present it also compiles
ledger/contracts/variants/AnchorRegistryEventOnly.sol (history only in logs, latest anchor in
two slots) with the same settings and measures it the same way, printing the ratio. Results
go to stdout and bench/results/anchor_gas.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))

from ledger.anchor import EmbeddedChain  # noqa: E402
from ledger.anchor._artifact import Artifact, load_artifact  # noqa: E402

CONTRACTS = ROOT_DIR / "ledger" / "contracts"
VARIANT = "variants/AnchorRegistryEventOnly.sol"
ORIGIN = "yrd.gov.cn/log/sh"
INTRINSIC = 21_000


def _calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


def measure(artifact: Artifact, anchors: int) -> dict[str, object]:
    admin = EmbeddedChain(artifact=artifact)
    w3 = admin._w3
    anchorer = admin.as_account(admin.accounts[1])

    def gas(tx_hash: str) -> int:
        return w3.eth.get_transaction_receipt(tx_hash)["gasUsed"]

    admin.deploy()
    deploy_gas = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][0])[
        "gasUsed"
    ]
    grant_gas = gas(admin.grant(ORIGIN, anchorer.account).tx_hash)

    used, calldata = [], []
    for size in range(1, anchors + 2):
        root = os.urandom(32)
        tx = anchorer.anchor(ORIGIN, size * 64, root)
        anchorer.wait(tx)
        used.append(gas(tx.tx_hash))
        calldata.append(_calldata_gas(bytes(w3.eth.get_transaction(tx.tx_hash)["input"])))
    steady, steady_calldata = used[1:], statistics.mean(calldata[1:])
    mean = statistics.mean(steady)
    return {
        "contract": artifact.contract_name,
        "solc": artifact.solc_version,
        "settings": artifact.settings,
        "deploy_gas": deploy_gas,
        "grant_gas": grant_gas,
        "first_anchor_gas": used[0],
        "anchors_measured": len(steady),
        "anchor_gas_mean": round(mean),
        "anchor_gas_min": min(steady),
        "anchor_gas_max": max(steady),
        "anchor_intrinsic_gas": INTRINSIC,
        "anchor_calldata_gas_mean": round(steady_calldata),
        "anchor_execution_gas_mean": round(mean - INTRINSIC - steady_calldata),
    }


def compile_variant() -> Artifact | None:
    if shutil.which("node") is None or not (CONTRACTS / "node_modules" / "solc").is_dir():
        return None
    out = subprocess.run(
        ["node", "build.js", "--source", VARIANT, "--out", "-"],
        cwd=CONTRACTS,
        capture_output=True,
        check=True,
    ).stdout
    return Artifact.from_json(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=50, help="steady-state anchors to measure")
    args = parser.parse_args()

    results: dict[str, object] = {
        "origin": ORIGIN,
        "chosen": measure(load_artifact(), args.anchors),
    }
    variant = compile_variant()
    if variant is None:
        print("node or ledger/contracts/node_modules missing: event-only variant not measured")
    else:
        results["event_only"] = measure(variant, args.anchors)
        chosen, alt = results["chosen"], results["event_only"]
        results["storage_over_event_only"] = {
            "extra_gas_per_anchor": chosen["anchor_gas_mean"] - alt["anchor_gas_mean"],
            "ratio": round(chosen["anchor_gas_mean"] / alt["anchor_gas_mean"], 3),
        }

    for name in ("chosen", "event_only"):
        if name in results:
            r = results[name]
            print(
                f"{r['contract']:<26} deploy {r['deploy_gas']:>8,}  grant {r['grant_gas']:>6,}  "
                f"first anchor {r['first_anchor_gas']:>7,}  anchor mean {r['anchor_gas_mean']:>7,} "
                f"(min {r['anchor_gas_min']:,}, max {r['anchor_gas_max']:,}; "
                f"execution {r['anchor_execution_gas_mean']:,})"
            )
    if "storage_over_event_only" in results:
        s = results["storage_over_event_only"]
        print(f"storage per anchor costs {s['extra_gas_per_anchor']:,} gas more ({s['ratio']}x)")

    out = ROOT_DIR / "bench" / "results" / "anchor_gas.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT_DIR)}")


if __name__ == "__main__":
    main()
