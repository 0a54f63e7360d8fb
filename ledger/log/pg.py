"""The log on PostgreSQL: the store, the elected sequencer and the front-end client.

Needs the ``postgres`` extra (psycopg 3 and psycopg-pool); ``import ledger`` and
``ledger.log`` do not import this module. See docs/ledger.md, "The log on PostgreSQL".
"""

from __future__ import annotations

from ._pg_client import PgLog
from ._pg_store import LOG_CHANNEL, QUEUE_CHANNEL, FencedError, PgLogStore
from ._sequencer import Sequencer, lock_id

__all__ = [
    "LOG_CHANNEL",
    "QUEUE_CHANNEL",
    "FencedError",
    "PgLog",
    "PgLogStore",
    "Sequencer",
    "lock_id",
]
