"""The compiled AnchorRegistry artifact and the decoding of its custom errors.

The artifact (`ledger/contracts/AnchorRegistry.json`, written by `ledger/contracts/build.js`
with solc-js) ships as package data and is read with importlib.resources, so the embedded chain
runs the very bytecode that production deploys.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Imported from their defining modules: the packages' __init__ re-export them implicitly.
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from ledger.anchor.errors import AnchorError, ContractRevert

_PACKAGE = "ledger.contracts"
_NAME = "AnchorRegistry.json"
# Solidity's built-in revert payloads: Error(string) and Panic(uint256).
_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: ABI, creation and runtime bytecode, and how it was built."""

    contract_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    solc_version: str
    settings: dict[str, Any]
    source_sha256: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        try:
            return cls(
                contract_name=data["contractName"],
                abi=data["abi"],
                bytecode=data["bytecode"],
                deployed_bytecode=data["deployedBytecode"],
                solc_version=data["solcVersion"],
                settings=data["settings"],
                source_sha256=data["sourceSha256"],
            )
        except KeyError as exc:
            raise AnchorError(f"artifact is missing field {exc.args[0]!r}") from exc

    @functools.cached_property
    def _errors(self) -> dict[bytes, tuple[str, list[str], list[str]]]:
        table = {}
        for item in self.abi:
            if item.get("type") != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            table[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)
        return table

    def decode_revert(self, data: bytes) -> ContractRevert:
        """Decode revert data into a ContractRevert named after the custom error."""
        selector, payload = data[:4], data[4:]
        try:
            if selector in self._errors:
                name, names, types = self._errors[selector]
                values = [
                    to_checksum_address(v) if t == "address" else v
                    for t, v in zip(types, abi_decode(types, payload), strict=True)
                ]
                return ContractRevert(name, dict(zip(names, values, strict=True)))
            if selector == _ERROR_STRING:
                return ContractRevert("Error", {"reason": abi_decode(["string"], payload)[0]})
            if selector == _PANIC:
                return ContractRevert("Panic", {"code": abi_decode(["uint256"], payload)[0]})
        except (DecodingError, ValueError, OverflowError):
            pass  # an undecodable payload is reported as "unknown" with its raw bytes
        return ContractRevert("unknown", {"data": data})


@functools.cache
def load_artifact() -> Artifact:
    """Load the committed AnchorRegistry artifact; raises AnchorError if it is absent."""
    try:
        text = resources.files(_PACKAGE).joinpath(_NAME).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise AnchorError(f"contract artifact {_PACKAGE}/{_NAME} not found") from exc
    return Artifact.from_json(json.loads(text))
