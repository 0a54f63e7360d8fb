"""Once-only evidence: the holder's answer to an ``evidence.request`` becomes a logged exchange.

Under the once-only rule (凡是能通过信息共享提供的证明材料, 不得要求重复提供) the handling
province asks the province that holds a material (a business licence, say) for it with an
``evidence.request`` exchange, instead of asking the applicant. The request is an ordinary
signed exchange: checked, normalised, logged, and delivered to the holder; the holder's
``evidence.response`` comes back like every answer (``gateway.exchange.answers``): its own
signed exchange with ``in_reply_to`` if it pulls, or relayed by the gateway as its adapter if
it is pushed to. This module keeps the evidence kinds and the names other code imports.
"""

from __future__ import annotations

from gateway.exchange.answers import (
    ANSWER_DIALECT,
    AnswerMismatch,
    AnswerRelay,
    answer_exchange_id,
    verify_relayed_envelope,
)

__all__ = [
    "ANSWER_DIALECT",
    "REQUEST_KIND",
    "RESPONSE_KIND",
    "AnswerMismatch",
    "EvidenceRelay",
    "answer_exchange_id",
    "verify_relayed_envelope",
]

REQUEST_KIND = "evidence.request"
RESPONSE_KIND = "evidence.response"

EvidenceRelay = AnswerRelay
"""The relay predates answers of every kind; it is :class:`AnswerRelay`."""
