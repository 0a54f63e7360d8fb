"""The default settings make a working anchorer: interval only, embedded chain."""

from __future__ import annotations

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.settings import Settings
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore


def test_default_settings_build_an_interval_only_anchorer(tmp_path):
    settings = Settings.load(env={}, data_dir=tmp_path)
    assert settings.anchor_mode == "embedded" and settings.anchor_every_entries == 0
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), PrivateKey.generate(), "t/log")
    anchorer = make_anchorer_factory(settings)(log)
    try:
        assert anchorer.anchorer.every is None
        assert anchorer.anchorer.interval == settings.anchor_interval_seconds
    finally:
        anchorer.stop()
        log.close()
