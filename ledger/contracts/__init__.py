"""The AnchorRegistry contract: Solidity source, build script and the committed artifact.

`AnchorRegistry.json` is read by `ledger.anchor` through importlib.resources; `build.js`
regenerates it with the solc version pinned in `package.json` (see docs/ledger.md).
"""

__all__: list[str] = []
