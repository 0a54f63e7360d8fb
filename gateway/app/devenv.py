"""The dev environment of ``yrdgw serve --dev`` and the tests: keys, TLS, a signed registry.

Everything lives under ``<data_dir>/dev`` and is made once; the registry is re-signed at
every start (new serial) so that simulator endpoints can move. Nothing here is for
production: the governance key sits next to the gateway.

Besides one client certificate per member (``tls/client-<R>.{crt,key}``) it issues one
for the dev auditor, ``auditor/auditor.{crt,key}`` (with ``tls/ca.crt`` to check the server),
listed in the registry's ``auditors`` as ``auditor/dev``: the certificate to try the Audit
service and ``GetReceipt`` of any exchange with (docs/access.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.app.pki import CertPair, issue, make_ca
from gateway.licences.trust import licence_trust_document
from gateway.regions import REGIONS
from gateway.registry import (
    DEV_AUDITOR_ID,
    DEV_LOG_ORIGIN,
    Region,
    build_dev_registry,
    dev_member_id,
    sign_registry,
)
from ledger.cosignature import TrustedWitness
from ledger.crypto import PrivateKey
from ledger.trust import trust_document

if TYPE_CHECKING:
    from gateway.app.dev_witnesses import DevWitness

__all__ = [
    "DevEnvironment",
    "dev_key",
    "dev_log_key",
    "ensure_dev_environment",
]


@dataclass
class DevEnvironment:
    root: Path
    governance: PrivateKey
    log_key: PrivateKey
    """Signs checkpoints only."""
    attestation_key: PrivateKey
    """Signs what the gateway vouches for as a member's adapter (relayed evidence)."""
    identity_key: PrivateKey
    """Signs canonical identity assertions."""
    member_keys: dict[str, PrivateKey]
    idp_keys: dict[str, PrivateKey]
    ca: CertPair
    server: CertPair
    clients: dict[str, CertPair]
    registry_path: Path
    trust_path: Path
    auditor: CertPair
    """The dev auditor's client certificate (``DEV_AUDITOR_ID``): not a member."""
    licence_keys: dict[str, PrivateKey] = field(default_factory=dict)
    """Each region's e-licence authority key (``licence_issuers``; docs/licences.md)."""
    licence_trust_path: Path | None = None
    """``licence-trust.json``: the signed registry and governance key, for offline
    ``yrdgw licence verify --trust``."""

    @property
    def auditor_id(self) -> str:
        return DEV_AUDITOR_ID

    def member_id(self, region: str) -> str:
        return str(dev_member_id(region))

    def trust_settings(self) -> dict[str, str]:
        """The settings naming this environment's trust files, so that ``serve`` can start
        from them without ``--dev`` (as a TOML table or ``YRD_*`` variables)."""
        keys, tls = self.root / "keys", self.root / "tls"
        return {
            "registry_path": str(self.registry_path),
            "governance_public_key": str(keys / "governance.pub"),
            "log_key_path": str(keys / "log.pem"),
            "attestation_key_path": str(keys / "attestation.pem"),
            "identity_key_path": str(keys / "identity.pem"),
            "tls_ca": str(tls / "ca.crt"),
            "tls_cert": str(tls / "server.crt"),
            "tls_key": str(tls / "server.key"),
        }


def dev_key(path: Path) -> PrivateKey:
    """The development key at ``path`` (PKCS#8 PEM, mode 0600, its public key beside it as
    ``.pub``), made on first use and kept across restarts."""
    if path.exists():
        return PrivateKey.from_pem(path.read_bytes())
    key = PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.to_pem())
    path.chmod(0o600)
    path.with_suffix(".pub").write_bytes(key.public_key.to_pem())
    return key


def _cert(directory: Path, stem: str, make) -> CertPair:
    if (directory / f"{stem}.crt").exists():
        return CertPair.read(directory, stem)
    pair = make()
    pair.write(directory, stem)
    return pair


def dev_log_key(data_dir: Path) -> PrivateKey:
    """The dev log key (made once): the witnesses must know it before the registry lists them."""
    return dev_key(Path(data_dir) / "dev" / "keys" / "log.pem")


def ensure_dev_environment(
    data_dir: Path,
    endpoints: dict[str, str] | None = None,
    serial: int | None = None,
    pull_regions: tuple[str, ...] = (),
    mutate: Callable[[dict], None] | None = None,
    revocation_urls: dict[str, str] | None = None,
    witnesses: Sequence[DevWitness] = (),
    witness_quorum: int = 0,
) -> DevEnvironment:
    """Make (once) the dev keys and certificates, and sign a fresh dev registry.

    ``endpoints`` gives push URLs per region (simulators); regions in ``pull_regions`` are
    registered for pull delivery instead. ``revocation_urls`` names where a region's identity
    provider publishes its revocation list (the simulator's ``/identity/revocations``).
    ``witnesses`` (the dev witnesses, started) and ``witness_quorum`` go into the registry
    and the auditors' trust file (docs/witness.md).
    """
    root = Path(data_dir) / "dev"
    keys = root / "keys"
    governance = dev_key(keys / "governance.pem")
    log_key = dev_key(keys / "log.pem")
    attestation_key = dev_key(keys / "attestation.pem")
    identity_key = dev_key(keys / "identity.pem")
    member_keys = {str(r): dev_key(keys / f"member-{r}.pem") for r in REGIONS}
    idp_keys = {str(r): dev_key(keys / f"idp-{r}.pem") for r in REGIONS}
    licence_keys = {str(r): dev_key(keys / f"licence-{r}.pem") for r in REGIONS}
    tls = root / "tls"
    ca = _cert(tls, "ca", make_ca)
    server = _cert(tls, "server", lambda: issue(ca, "localhost", server=True))
    clients = {
        r: _cert(tls, f"client-{r}", lambda r=r: issue(ca, str(dev_member_id(r)), server=False))
        for r in map(str, REGIONS)
    }
    auditor = _cert(root / "auditor", "auditor", lambda: issue(ca, DEV_AUDITOR_ID, server=False))
    document = build_dev_registry(
        {Region(r): k.public_key for r, k in member_keys.items()},
        governance.public_key,
        [log_key.public_key],
        tls_fingerprints={Region(r): [c.fingerprint] for r, c in clients.items()},
        identity_provider_keys={Region(r): k.public_key for r, k in idp_keys.items()},
        endpoints={Region(r): url for r, url in (endpoints or {}).items()},
        serial=serial or _next_serial(root),
        now=datetime.now(UTC) - timedelta(days=1),  # tolerate clock skew of partner systems
        attestation_keys=[attestation_key.public_key],
        identity_keys=[identity_key.public_key],
        auditor_fingerprints=[auditor.fingerprint],
        revocation_urls={Region(r): url for r, url in (revocation_urls or {}).items()},
        licence_issuer_keys={Region(r): k.public_key for r, k in licence_keys.items()},
        witnesses=[(w.name, w.public_key, w.url) for w in witnesses],
        witness_quorum=witness_quorum,
    )
    for member in document["members"]:
        if member["id"]["region"] in pull_regions:
            member["delivery"] = {"mode": "pull", "dialect": member["delivery"]["dialect"]}
    if mutate is not None:
        mutate(document)
    registry_path = root / "registry.json"
    registry_path.write_bytes(sign_registry(document, governance))
    trust_path = root / "trust.json"
    trusted = [TrustedWitness(w.name, w.public_key) for w in witnesses]
    trust = trust_document(DEV_LOG_ORIGIN, log_key.public_key, witnesses=trusted)
    trust_path.write_text(json.dumps(trust, indent=2))
    licence_trust_path = root / "licence-trust.json"
    licence_trust_path.write_bytes(
        licence_trust_document(registry_path.read_bytes(), governance.public_key)
    )
    return DevEnvironment(
        root,
        governance,
        log_key,
        attestation_key,
        identity_key,
        member_keys,
        idp_keys,
        ca,
        server,
        clients,
        registry_path,
        trust_path,
        auditor=auditor,
        licence_keys=licence_keys,
        licence_trust_path=licence_trust_path,
    )


def _next_serial(root: Path) -> int:
    counter = root / "serial"
    serial = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(serial))
    return serial
