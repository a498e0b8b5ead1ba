"""Configuration: the repo's config.toml is exactly the defaults and documents every key;
unknown keys and bad values are refused naming the key; environment overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from shortstack.server.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def _fields(struct_type: type, prefix: str = "") -> list[tuple[str, type]]:
    """Every leaf key of a config Struct as dotted paths."""
    out = []
    for field in msgspec.structs.fields(struct_type):
        path = f"{prefix}{field.name}"
        if isinstance(field.type, type) and issubclass(field.type, msgspec.Struct):
            out += _fields(field.type, path + ".")
        else:
            out.append((path, field.type))
    return out


def test_repo_config_is_exactly_the_defaults():
    config = load_config(ROOT / "config.toml", environ={})
    assert config == Config()
    assert msgspec.to_builtins(config) == msgspec.to_builtins(Config())


def test_repo_config_mentions_every_field():
    data = tomllib.loads((ROOT / "config.toml").read_text())
    text = (ROOT / "config.toml").read_text()
    for path, _ in _fields(Config):
        node = data
        for part in path.split("."):
            assert part in node, f"config.toml does not set {path}"
            node = node[part]
    # and every key has a comment line right above it
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"undocumented key: {line}"


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("SHORTSTACK_CONFIG", str(tmp_path / "absent.toml"))
    assert load_config(environ={}) == Config()


def test_partial_file_keeps_other_defaults():
    config = load_config(DATA / "good_partial.toml", environ={})
    assert config.server.port == 9000
    assert config.server.registration == "closed"
    assert config.limits.max_upload_mb == 50
    assert config.feed.weights.trending == 2.0
    assert config.feed.weights.content == Config().feed.weights.content
    assert config.media == Config().media


@pytest.mark.parametrize(
    ("name", "mentions"),
    [
        ("bad_unknown_key.toml", "prot"),
        ("bad_unknown_section.toml", "servers"),
        ("bad_nested_key.toml", "popularity"),
        ("bad_type.toml", "max_upload_mb"),
        ("bad_choice.toml", "registration"),
        ("bad_range.toml", "feed.poll_s"),
        ("bad_port.toml", "server.port"),
        ("bad_negative.toml", "limits.max_upload_mb must not be negative"),
        ("bad_syntax.toml", "TOML"),
    ],
)
def test_bad_files_are_refused_naming_the_problem(name, mentions):
    with pytest.raises(ConfigError) as exc:
        load_config(DATA / name, environ={})
    message = str(exc.value)
    assert name in message  # names the file
    assert mentions in message
    assert "\n" not in message.strip()


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", environ={})


def test_environment_overrides():
    env = {
        "SHORTSTACK_LIMITS__MAX_UPLOAD_MB": "7",
        "SHORTSTACK_SERVER__REGISTRATION": "closed",
        "SHORTSTACK_FEED__WEIGHTS__EXPLORE": "0.5",
        "SHORTSTACK_SERVER__PUBLIC_URL": "https://clips.example",
        "SHORTSTACK_DATA": "/ignored/not/a/config/key",
    }
    config = load_config(DATA / "good_partial.toml", environ=env)
    assert config.limits.max_upload_mb == 7  # the environment beats the file (50)
    assert config.server.registration == "closed"
    assert config.feed.weights.explore == 0.5
    assert config.server.public_url == "https://clips.example"
    assert config.base_url == "https://clips.example"
    assert config.server.port == 9000  # from the file


def test_environment_override_from_os_environ(monkeypatch, tmp_path):
    monkeypatch.setenv("SHORTSTACK_LIMITS__MAX_UPLOAD_MB", "12")
    monkeypatch.setenv("SHORTSTACK_CONFIG", str(tmp_path / "absent.toml"))
    assert load_config().limits.max_upload_mb == 12


def test_bad_environment_override_names_the_key():
    with pytest.raises(ConfigError, match="max_upload_mb"):
        load_config(DATA / "good_partial.toml", environ={"SHORTSTACK_LIMITS__MAX_UPLOAD_MB": "big"})
    with pytest.raises(ConfigError, match="bogus"):
        load_config(DATA / "good_partial.toml", environ={"SHORTSTACK_LIMITS__BOGUS": "1"})
