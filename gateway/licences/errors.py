"""The refusal of an e-licence: a :class:`~gateway.errors.Refusal` with the check it failed.

``reason`` is the machine code (a ``gateway.errors.Reason``), ``check`` the name of the
step that refused (``parse``, ``issuer_key``, ``signature``, ``authority``, ``validity``,
``revocation``, ``holder``), ``message`` a lower-case English message naming it, and
``chinese`` the same for the windows (``CHINESE_REASONS``).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import Reason, Refusal

__all__ = ["CHINESE_REASONS", "LicenceRejected"]

CHINESE_REASONS: Mapping[Reason, str] = {
    Reason.MALFORMED: "证照格式错误或超出大小限制，无法解析",
    Reason.UNKNOWN_ISSUER: "签发密钥不在信任清单中，签发机构未知",
    Reason.BAD_SIGNATURE: "签名无效：证照内容被篡改或签名不符",
    Reason.NOT_ISSUING_AUTHORITY: "签发机构无权签发此类证照",
    Reason.EXPIRED: "证照已过有效期",
    Reason.NOT_YET_VALID: "证照尚未生效",
    Reason.REVOKED: "证照已被签发地注销（吊销）",
    Reason.HOLDER_MISMATCH: "证照持有人与申请人不一致",
}
"""Each refusal reason of ``verify_licence`` as the window shows it."""


class LicenceRejected(Refusal):
    """An e-licence refused by one named check of ``verify_licence``; nothing is written."""

    def __init__(self, reason: Reason, check: str, message: str) -> None:
        super().__init__(reason, f"licence {check}: {message}", check=check)
        self.check = check
        self.chinese = CHINESE_REASONS.get(self.reason, "证照核验未通过")
