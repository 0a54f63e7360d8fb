"""Settings: TOML file < ``YRD_`` environment < command line, refused in one precise line.

Every refusal is a :class:`ConfigError` naming the setting, where the value came from and
what was wrong; secrets never show in ``repr``, ``str``, logs or refusals; every field is
read by something outside ``settings.py`` and documented in ``docs/operations.md``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from gateway.app.settings import Settings, env_name
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SECRET = "0x4c0883a69102937d6231471b5dbb6204fe512961708279f3c6c1e4e0b1a3d4b5"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "yrdgw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(**kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        Settings.load(**kwargs)
    message = str(info.value)
    assert "\n" not in message, "a refusal is one line"
    return message


def test_defaults_run_everything_embedded():
    s = Settings.load(env={})
    assert (s.data_dir, s.host, s.grpc_port, s.http_port) == (
        Path("yrd-data"), "127.0.0.1", 50051, 8080,
    )  # fmt: skip
    assert s.anchor_mode == "embedded" and s.anchor_private_key.get_secret_value() == ""
    assert (s.push_max_attempts, s.push_backoff_seconds, s.push_backoff_max_seconds) == (
        12, 0.5, 60.0,
    )  # fmt: skip
    assert s.registry_path is None and s.dev is False and s.extra == {}


def test_types_are_converted_and_paths_are_paths(tmp_path):
    config = _toml(tmp_path, 'grpc_port = 7001\ndev = true\nregistry_path = "r/registry.json"\n')
    s = Settings.load(
        config,
        env={"YRD_HTTP_PORT": "7002", "YRD_FRESHNESS_SECONDS": "12.5", "YRD_TLS_CA": ""},
    )
    assert (s.grpc_port, s.http_port, s.freshness_seconds, s.dev) == (7001, 7002, 12.5, True)
    assert s.registry_path == Path("r/registry.json") and isinstance(s.registry_path, Path)
    assert s.tls_ca is None  # an empty variable means "not configured", not the cwd
    assert s.path("tls_ca", "tls/ca.crt") == s.data_dir / "tls/ca.crt"


def test_environment_over_file_and_command_line_over_both(tmp_path):
    config = _toml(tmp_path, 'grpc_port = 1001\nhttp_port = 1002\nhost = "10.0.0.1"\n')
    s = Settings.load(config, env={"YRD_GRPC_PORT": "2001", "YRD_HTTP_PORT": "2002"})
    assert (s.host, s.grpc_port, s.http_port) == ("10.0.0.1", 2001, 2002)
    s = Settings.load(
        config, env={"YRD_GRPC_PORT": "2001"}, grpc_port=3001, http_port=None, host=None
    )
    assert (s.host, s.grpc_port, s.http_port) == ("10.0.0.1", 3001, 1002)


@pytest.mark.parametrize(
    ("toml", "setting", "needle"),
    [
        ("host = 5", "host", "valid string"),
        ('grpc_port = "fifty"', "grpc_port", "valid integer"),
        ("grpc_port = 1.5", "grpc_port", "fractional part"),
        ("http_port = 70000", "http_port", "0..65535"),
        ('dev = "maybe"', "dev", "valid boolean"),
        ('anchor_mode = "chain"', "anchor_mode", "'embedded', 'jsonrpc' or 'off'"),
        ("registry_path = 3", "registry_path", "path"),
        ("push_max_attempts = 0", "push_max_attempts", "greater than or equal to 1"),
        ("freshness_seconds = -1", "freshness_seconds", "greater than 0"),
        ("batch_wait_seconds = nan", "batch_wait_seconds", "finite"),
        ("extra = 3", "extra", "valid dictionary"),
    ],
)
def test_bad_toml_types_name_the_setting_and_the_file(tmp_path, toml, setting, needle):
    config = _toml(tmp_path, toml + "\n")
    message = _refusal(config_file=config, env={})
    assert message.startswith(f"setting {setting} (from config file {config}): "), message
    assert needle in message


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("YRD_GRPC_PORT", "abc", "valid integer"),
        ("YRD_GRPC_PORT", "-1", "0..65535"),
        ("YRD_ANCHOR_MODE", "chain", "'embedded', 'jsonrpc' or 'off'"),
        ("YRD_DEV", "maybe", "valid boolean"),
        ("YRD_REGISTRY_EXPIRY_GRACE_SECONDS", "inf", "finite"),
        ("YRD_ANCHOR_CONFIRMATIONS", "0", "greater than or equal to 1"),
        ("YRD_PUSH_BACKOFF_SECONDS", "0", "greater than 0"),
    ],
)
def test_bad_environment_values_name_the_variable(variable, value, needle):
    message = _refusal(env={variable: value})
    setting = variable.removeprefix("YRD_").lower()
    assert message.startswith(f"setting {setting} (from {variable}): "), message
    assert needle in message and repr(value) in message


def test_unparseable_json_table_in_the_environment_is_refused():
    assert "extra" in _refusal(env={"YRD_EXTRA": "not json"})
    assert Settings.load(env={"YRD_EXTRA": '{"identity": {"a": 1}}'}).extra == {
        "identity": {"a": 1}
    }


def test_rule_across_settings_is_refused():
    message = _refusal(env={"YRD_PUSH_BACKOFF_SECONDS": "5", "YRD_PUSH_BACKOFF_MAX_SECONDS": "1"})
    assert message == (
        "settings: push_backoff_max_seconds must be at least push_backoff_seconds, got 1.0 < 5.0"
    )


def test_every_bad_setting_is_named_in_the_one_line():
    message = _refusal(env={"YRD_GRPC_PORT": "x", "YRD_HTTP_PORT": "y"})
    assert "setting grpc_port" in message and "setting http_port" in message


def test_unknown_settings_are_refused(tmp_path):
    config = _toml(tmp_path, "grpc_prot = 1\n[anchor]\nmode = 'off'\n")
    assert _refusal(config_file=config, env={}) == "unknown setting(s): anchor, grpc_prot"
    assert _refusal(env={}, colour="blue") == "unknown setting(s): colour"
    # other YRD_ variables belong to other tools (YRD_DEBUG, YRD_SM_BACKEND): not settings
    assert Settings.load(env={"YRD_DEBUG": "1", "YRD_NOT_A_SETTING": "x"}).grpc_port == 50051


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"\xff\xfe garbage", "is not utf-8 text"),
        (b"grpc_port = = 1", "is not valid toml"),
        (b"a = " + b"[" * 5000 + b"]" * 5000, "nests too deep"),
    ],
)
def test_unreadable_config_files_are_refused(tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_bytes(text)
    assert needle in _refusal(config_file=config, env={})
    assert "cannot read config file" in _refusal(config_file=tmp_path / "missing.toml", env={})


def test_secret_never_shows_in_repr_str_logs_or_refusals(tmp_path, caplog):
    from_env = Settings.load(env={"YRD_ANCHOR_PRIVATE_KEY": SECRET})
    from_file = Settings.load(_toml(tmp_path, f'anchor_private_key = "{SECRET}"\n'), env={})
    caplog.set_level(logging.INFO)
    for s in (from_env, from_file):
        assert s.anchor_private_key.get_secret_value() == SECRET  # readers still get it
        logging.getLogger("gateway.test").info("settings %s %r", s, s)
        shown = [repr(s), str(s), s.model_dump_json(), caplog.text]
        assert all(SECRET not in text for text in shown)
        assert "anchor_private_key=SecretStr('**********')" in repr(s)
    # a refusal of a secret says what was wrong, never the value
    message = _refusal(config_file=_toml(tmp_path, "anchor_private_key = 4096123\n"), env={})
    assert message.startswith("setting anchor_private_key") and "4096123" not in message


def test_public_environment_names():
    assert env_name("anchor_mode") == "YRD_ANCHOR_MODE"
    assert Settings.load(env={"YRD_ANCHOR_MODE": "off"}).anchor_mode == "off"


# -- every setting is read by something -----------------------------------------------------

SOURCES = [
    p
    for root in ("gateway", "adapters")
    for p in sorted((REPO / root).rglob("*.py"))
    if p != REPO / "gateway/app/settings.py" and "pb" not in p.relative_to(REPO).parts
]


def _readers(name: str, texts: dict[Path, str]) -> list[Path]:
    """Files that read setting ``name``: ``settings.name`` / ``s.name``, or a line that
    passes ``settings`` and the quoted name (``settings.path("tls_ca", ...)``,
    ``getattr(settings, "extra")``)."""
    attribute = re.compile(rf"\b(?:settings|s)\.{name}\b")
    by_name = re.compile(rf"\bsettings\b.*[\"']{name}[\"']")
    return [p for p, text in texts.items() if attribute.search(text) or by_name.search(text)]


@pytest.fixture(scope="module")
def texts() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in SOURCES}


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_read_outside_settings_py(name, texts):
    assert _readers(name, texts), f"setting {name} is read by nothing: wire it or delete it"


def test_the_reader_scan_can_fail(texts):
    assert _readers("not_a_setting_anyone_reads", texts) == []
    assert _readers("push_max_attempts", texts)  # wired into the push worker


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name):
    doc = (REPO / "docs/operations.md").read_text(encoding="utf-8")
    section = doc.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"^\| `{name}` \|.*\| `{env_name(name)}`[^|]*\|", section, re.M), name


def test_the_jsonrpc_anchorer_signs_with_the_secret_itself(tmp_path):
    from eth_account import Account

    from gateway.app.anchoring import make_anchorer_factory
    from ledger.crypto import PrivateKey
    from ledger.log import MerkleLog, SQLiteStore

    settings = Settings.load(
        env={"YRD_ANCHOR_PRIVATE_KEY": SECRET},
        data_dir=tmp_path,
        anchor_mode="jsonrpc",
        anchor_rpc_url="http://127.0.0.1:9",  # never contacted: the anchorer is not started
    )
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), PrivateKey.generate(), "t/log")
    anchorer = make_anchorer_factory(settings)(log)
    try:
        assert anchorer.anchorer.chain.account == Account.from_key(SECRET).address
    finally:
        anchorer.stop()
        log.close()
