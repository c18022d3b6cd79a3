"""Settings.from_env: FARMTRACE_VERIFY_WORKERS is a small whole number, or a ConfigError naming it;
production names its own log origin; the log key is generated only for a new ledger, and saved apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmtrace.api.settings import ConfigError, Settings


@pytest.mark.parametrize(("text", "want"), [("", None), ("0", 0), ("2", 2), (" 4 ", 4)])
def test_verify_workers(text, want) -> None:
    assert Settings.from_env({"FARMTRACE_VERIFY_WORKERS": text}).verify_workers == want


@pytest.mark.parametrize("text", ["-1", "two", "1.5", "65"])
def test_bad_verify_workers_name_the_variable(text) -> None:
    with pytest.raises(ConfigError, match="FARMTRACE_VERIFY_WORKERS"):
        Settings.from_env({"FARMTRACE_VERIFY_WORKERS": text})


@pytest.mark.parametrize("origin", [None, "", "farmtrace.local/log", " farmtrace.local/log "])
def test_production_refuses_the_default_log_origin(origin) -> None:
    env = {"FARMTRACE_ENV": "production"}
    if origin is not None:
        env["FARMTRACE_LOG_ORIGIN"] = origin
    with pytest.raises(ConfigError, match="FARMTRACE_LOG_ORIGIN"):
        Settings.from_env(env)


def test_production_accepts_its_own_log_origin_and_development_the_default() -> None:
    env = {"FARMTRACE_ENV": "production", "FARMTRACE_LOG_ORIGIN": "trace.example.gov.cn/log"}
    assert Settings.from_env(env).log_origin == "trace.example.gov.cn/log"
    assert Settings.from_env({}).log_origin == "farmtrace.local/log"


def test_a_new_log_key_is_not_saved_until_asked(tmp_path: Path) -> None:
    settings = Settings.from_env({"FARMTRACE_DATA_DIR": str(tmp_path / "data")})
    signer, generated = settings.new_log_signer()
    assert generated and not (tmp_path / "data").exists()
    settings.save_log_key(signer)
    assert settings.log_signer().key_string() == signer.key_string()
    assert settings.log_verifier() == signer.verifier
    assert (tmp_path / "data" / "log.pub").read_text().strip() == signer.verifier.key_string()


def test_production_generates_no_log_key(tmp_path: Path) -> None:
    env = {
        "FARMTRACE_ENV": "production",
        "FARMTRACE_LOG_ORIGIN": "t.example/log",
        "FARMTRACE_DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="FARMTRACE_LOG_KEY_FILE"):
        Settings.from_env(env).new_log_signer()


def test_a_missing_log_key_names_where_it_was_looked_for(tmp_path: Path) -> None:
    settings = Settings.from_env({"FARMTRACE_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="FARMTRACE_LOG_KEY_FILE") as found:
        settings.log_signer()
    assert str((tmp_path / "log.key").resolve()) in str(found.value)
    assert "farmtrace init" not in str(found.value)
    with pytest.raises(ConfigError, match="--key") as found:
        settings.log_verifier()
    assert str((tmp_path / "log.pub").resolve()) in str(found.value)


@pytest.mark.parametrize(("text", "want"), [("", False), ("0", False), ("1", True), (" 1 ", True)])
def test_webhook_private(text, want) -> None:
    assert Settings.from_env({"FARMTRACE_WEBHOOK_PRIVATE": text}).webhook_private is want


@pytest.mark.parametrize("text", ["yes", "true", "2", "-1"])
def test_a_bad_webhook_private_names_the_variable(text) -> None:
    with pytest.raises(ConfigError, match="FARMTRACE_WEBHOOK_PRIVATE must be 0 or 1"):
        Settings.from_env({"FARMTRACE_WEBHOOK_PRIVATE": text})
