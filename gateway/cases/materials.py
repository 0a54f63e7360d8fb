"""Materials of cases and the applicant record, sealed at rest with the gateway's SM4 key.

An upload is staged before its case exists: it is kept SM4-GCM sealed with its SM3 digest
(GB/T 32905) as the additional data, so a file swapped or damaged on disk is refused when it
is opened, never served. The applicant's full identity is sealed the same way, bound to the
case id. Only the receiving window and the handling province's handler may open them; the
service records each opening (``CaseService.material``/``applicant``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gateway.cases.accounts import Account, Role
from gateway.cases.chinese import region_zh
from gateway.cases.errors import CaseForbidden, CaseInvalid, CaseNotFound, CaseUnavailable
from gateway.cases.lifecycle import load_case, require
from gateway.cases.store import CaseStore
from gateway.identity import RecognisedIdentity
from gateway.ops.privacy import scrub
from ledger.crypto import sm3, sm4_gcm_open, sm4_gcm_seal
from ledger.errors import CryptoError

__all__ = ["MAX_MATERIAL_BYTES", "Materials", "secret_file"]

MAX_MATERIAL_BYTES = 5 * 1024 * 1024


def secret_file(path: Path, size: int, make: Callable[[], bytes]) -> bytes:
    """The ``size`` bytes kept in ``path``, made by ``make`` (mode 0600) on first use."""
    if path.exists():
        data = path.read_bytes()
        if len(data) != size:
            raise CaseUnavailable("bad_key", f"密钥文件 {path.name} 长度应为 {size} 字节")
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def _clip(value: object, limit: int = 64) -> str:
    """``repr`` of a value echoed in a refusal, cut so a huge input cannot swell the message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class Materials:
    """Sealed files of the cases in ``store``; ``key`` is the 16-byte SM4 key."""

    def __init__(self, store: CaseStore, key: bytes) -> None:
        self._store = store
        self._sm4 = key

    def stage(
        self, account: Account, filename: str, content_type: str, data: bytes
    ) -> dict[str, Any]:
        """Keep a file for a case about to be submitted: SM3 digest, SM4-GCM sealed."""
        require(account, Role.CLERK)
        if not data:
            raise CaseInvalid("invalid", "材料文件为空", "file")
        if len(data) > MAX_MATERIAL_BYTES:
            raise CaseInvalid(
                "too_large",
                f"材料文件 {len(data)} 字节，超过上限 {MAX_MATERIAL_BYTES} 字节",
                "file",
            )
        # Masked before anything stores or shows it: clerks name scans after the applicant.
        name = scrub(filename or "material").replace("/", "_").replace("\\", "_")[:200]
        digest = sm3(data).hex()
        row = {
            "upload_id": str(uuid.uuid4()),
            "city": account.city,
            "filename": name,
            "content_type": (content_type or "application/octet-stream")[:100],
            "size": len(data),
            "sm3": digest,
            "sealed": sm4_gcm_seal(self._sm4, data, digest.encode()),
            "created_at": time.time(),
        }
        self._store.insert_upload(row)
        return {k: row[k] for k in ("upload_id", "filename", "content_type", "size", "sm3")}

    def open(self, account: Account, case_id: str, material_id: str) -> tuple[dict, bytes]:
        """(metadata, content) of a material; :class:`CaseUnavailable` if it fails its seal
        or its SM3 digest."""
        case = load_case(self._store, case_id)
        if not (
            (account.role is Role.CLERK and account.city == case["receiving_city"])
            or (account.role is Role.HANDLER and account.region == case["handling_region"])
        ):
            raise CaseForbidden("forbidden", "材料仅向受理窗口和承办地提供")
        row = self._store.material_blob(case_id, material_id)
        if row is None:
            raise CaseNotFound("not_found", f"该办件没有材料 {material_id[:20]}")
        try:
            data = sm4_gcm_open(self._sm4, row["sealed"], row["sm3"].encode())
        except CryptoError as exc:
            raise CaseUnavailable("material_corrupt", f"材料 {material_id} 无法解密") from exc
        if sm3(data).hex() != row["sm3"]:
            raise CaseUnavailable("material_corrupt", f"材料 {material_id} 的 SM3 摘要不符")
        meta = {k: row[k] for k in ("material_id", "name", "filename", "content_type", "sm3")}
        return meta, data

    def resolve(self, account: Account, items: Any, matter: Any) -> list[dict[str, Any]]:
        """The staged uploads a submission names (``[{material_id, upload_id}]``), each a
        material of ``matter`` at most once and staged at ``account``'s window."""
        if not isinstance(items, list):
            raise CaseInvalid("invalid", "材料清单应为列表", "materials")
        out, seen = [], set()
        for n, item in enumerate(items):
            where = f"materials[{n}]"
            if not isinstance(item, Mapping):
                raise CaseInvalid("invalid", f"第 {n + 1} 项材料应为对象", where)
            mid = str(item.get("material_id") or "")
            spec = matter.material(mid)
            if spec is None:
                raise CaseInvalid(
                    "unknown_material",
                    f"第 {n + 1} 项材料 {_clip(mid)} 不是该事项（{matter.basic_code}）"
                    f"在{region_zh(matter.region)}要求的材料",
                    f"{where}.material_id",
                )
            if mid in seen:
                raise CaseInvalid("invalid", f"材料 {mid} 重复提交", where)
            seen.add(mid)
            upload = self._store.upload(str(item.get("upload_id") or ""))
            if upload is None or upload["city"] != account.city:
                raise CaseInvalid(
                    "unknown_upload",
                    f"第 {n + 1} 项材料：本窗口没有上传编号为 {_clip(item.get('upload_id'))} "
                    "的文件",
                    f"{where}.upload_id",
                )
            out.append({**upload, "material_id": mid, "name": spec.name})
        return out

    def seal_applicant(
        self, case_id: str, identity: RecognisedIdentity, phone: str | None
    ) -> bytes:
        """The applicant's identity and phone, sealed and bound to ``case_id``."""
        return sm4_gcm_seal(
            self._sm4,
            json.dumps({"identity": identity.to_dict(), "phone": phone}, ensure_ascii=False)
            .encode(),
            case_id.encode(),
        )  # fmt: skip

    def applicant(self, account: Account, case_id: str) -> dict[str, Any]:
        """The full applicant identity, for the receiving window and the handling province's
        handler (who decides on it); every other account sees only the masked forms."""
        case = load_case(self._store, case_id)
        if not (
            (account.role is Role.CLERK and account.city == case["receiving_city"])
            or (account.role is Role.HANDLER and account.region == case["handling_region"])
        ):
            raise CaseForbidden(
                "forbidden", "申请人信息仅向受理窗口和承办地审批人员显示", "applicant"
            )
        try:
            data = sm4_gcm_open(self._sm4, case["applicant_sealed"], case_id.encode())
        except CryptoError as exc:
            raise CaseUnavailable("applicant_corrupt", "申请人信息无法解密") from exc
        return json.loads(data)
