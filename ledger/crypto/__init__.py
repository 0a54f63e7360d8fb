"""The one place for China's national algorithms: SM2 signatures, SM3 hashing, SM4-GCM.

Two SM2 backends share one interface: ``native`` (Tongsuo via tongsuopy; thousands of
operations per second, GIL released) and ``reference`` (pure Python on gmssl, for
cross-checks; the ``reference`` extra, ``REFERENCE_AVAILABLE`` says if it is installed). The
native one is used where tongsuopy loads; set ``YRD_SM2_BACKEND`` or pass ``backend=`` to
choose. Both give interchangeable keys and signatures.
"""

from ._curve import DEFAULT_ID, N, z_value
from ._keys import OID_SM2, PrivateKey, PublicKey, default_backend
from ._native import AVAILABLE as NATIVE_AVAILABLE
from ._reference import AVAILABLE as REFERENCE_AVAILABLE
from ._sm3 import DIGEST_SIZE, SM3Hasher, sm3, sm3_file
from ._sm4 import generate_sm4_key, sm4_gcm_open, sm4_gcm_seal

__all__ = [
    "DEFAULT_ID",
    "DIGEST_SIZE",
    "NATIVE_AVAILABLE",
    "OID_SM2",
    "REFERENCE_AVAILABLE",
    "N",
    "PrivateKey",
    "PublicKey",
    "SM3Hasher",
    "default_backend",
    "generate_sm4_key",
    "sm3",
    "sm3_file",
    "sm4_gcm_open",
    "sm4_gcm_seal",
    "z_value",
]
