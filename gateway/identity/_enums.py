"""The closed vocabularies of the identity model (internal; re-exported by ``model``)."""

from __future__ import annotations

from enum import Enum, StrEnum

from gateway.regions import Region

__all__ = ["AgentRole", "AssuranceLevel", "AuthMethod", "DocumentType", "Province", "SubjectKind"]


class DocumentType(StrEnum):
    """Identity documents a natural person may be recognised by; the value is the JSON form."""

    RESIDENT_ID_CARD = "resident_id_card"  # 居民身份证
    HK_MACAO_TRAVEL_PERMIT = "hk_macao_travel_permit"  # 港澳居民来往内地通行证
    TAIWAN_TRAVEL_PERMIT = "taiwan_travel_permit"  # 台湾居民来往大陆通行证
    FOREIGN_PASSPORT = "foreign_passport"  # 外国护照
    FOREIGN_PERMANENT_RESIDENT_ID = "foreign_permanent_resident_id"  # 外国人永久居留身份证

    @property
    def label_zh(self) -> str:
        return _DOCUMENT_LABELS_ZH[self]


_DOCUMENT_LABELS_ZH = {
    DocumentType.RESIDENT_ID_CARD: "居民身份证",
    DocumentType.HK_MACAO_TRAVEL_PERMIT: "港澳居民来往内地通行证",
    DocumentType.TAIWAN_TRAVEL_PERMIT: "台湾居民来往大陆通行证",
    DocumentType.FOREIGN_PASSPORT: "外国护照",
    DocumentType.FOREIGN_PERMANENT_RESIDENT_ID: "外国人永久居留身份证",
}


class AssuranceLevel(Enum):
    """Level of assurance, ordered ``LOW < SUBSTANTIAL < HIGH`` (after eIDAS Art. 8).

    Deliberately not a ``str`` subclass: a string comparison would order the levels
    alphabetically (``"high" < "low"``). Comparing with anything but a level is a TypeError.
    """

    LOW = "low"
    SUBSTANTIAL = "substantial"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AssuranceLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, AssuranceLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, AssuranceLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, AssuranceLevel):
            return NotImplemented
        return self.rank >= other.rank


_LEVEL_RANK = {AssuranceLevel.LOW: 1, AssuranceLevel.SUBSTANTIAL: 2, AssuranceLevel.HIGH: 3}


class AuthMethod(StrEnum):
    """Canonical authentication methods; each province adapter maps its own names to these."""

    PASSWORD = "password"  # noqa: S105 - a method name, not a secret (账号密码)
    SMS_OTP = "sms_otp"  # 短信验证码
    FACE_RECOGNITION = "face_recognition"  # 人脸识别 (liveness + comparison with the photo)
    ELECTRONIC_ID_CARD = "electronic_id_card"  # 电子身份证 / CTID network identity credential
    USB_KEY = "usb_key"  # enterprise CA certificate on a hardware token (法人一证通 etc.)
    DIGITAL_CERTIFICATE = "digital_certificate"  # personal CA certificate held in software
    APP_QR_SCAN = "app_qr_scan"  # scan with the province's logged-in government app
    # presentation of the enterprise's electronic business licence (电子营业执照), signed by
    # the issuing market-regulation authority, by the person holding it in the official app
    E_BUSINESS_LICENCE = "e_business_licence"


class SubjectKind(StrEnum):
    """Who an assertion is about: a person (自然人) or an organisation (法人)."""

    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"


class AgentRole(StrEnum):
    """The role in which a natural person acts for a legal person (canonical names)."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
    AUTHORISED_AGENT = "authorised_agent"  # 经办人 / 被授权人


Province = Region
"""Issuing province of a recognised identity: one of the consortium's regions."""
