"""YRD Gateway ledger: SM2/SM3 crypto, the SM3 Merkle log, checkpoints, receipts, anchoring.

This package stands alone so that auditors can install and use it without the gateway.
"""

__all__ = [
    "__version__",
]

__version__ = "0.1.0"
