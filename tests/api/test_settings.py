"""Settings.from_env: FARMTRACE_VERIFY_WORKERS is a small whole number, or a ConfigError naming it."""

from __future__ import annotations

import pytest

from farmtrace.api.settings import ConfigError, Settings


@pytest.mark.parametrize(("text", "want"), [("", None), ("0", 0), ("2", 2), (" 4 ", 4)])
def test_verify_workers(text, want) -> None:
    assert Settings.from_env({"FARMTRACE_VERIFY_WORKERS": text}).verify_workers == want


@pytest.mark.parametrize("text", ["-1", "two", "1.5", "65"])
def test_bad_verify_workers_name_the_variable(text) -> None:
    with pytest.raises(ConfigError, match="FARMTRACE_VERIFY_WORKERS"):
        Settings.from_env({"FARMTRACE_VERIFY_WORKERS": text})
