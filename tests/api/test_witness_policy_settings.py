"""FARMTRACE_WITNESS_QUORUM and FARMTRACE_WITNESS_MAX_AGE: the consumer page's witness policy."""

from __future__ import annotations

import pytest

from farmtrace.api.settings import ConfigError, Settings
from farmtrace.ledger.note import CosignatureSigner
from farmtrace.ledger.policy import format_policy

KEYS = [
    CosignatureSigner.from_seed(f"w{n}.example/w", bytes([n + 1]) * 32).verifier.key_string()
    for n in range(3)
]


def _settings(**env: str) -> Settings:
    return Settings.from_env({f"FARMTRACE_{k}": v for k, v in env.items()})


def test_defaults_a_majority_and_ten_minutes():
    policy = _settings(WITNESS_KEYS=",".join(KEYS)).witness_policy()
    assert (policy.groups[0].threshold, policy.max_age, policy.quorum) == (2, 600, "witnesses")
    none = _settings().witness_policy()
    assert format_policy(none) == "quorum none\n" and none.max_age == 600


def test_configured_quorum_and_age():
    policy = _settings(
        WITNESS_KEYS=",".join(KEYS), WITNESS_QUORUM="3", WITNESS_MAX_AGE="600"
    ).witness_policy()
    assert (policy.groups[0].threshold, policy.max_age) == (3, 600)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"WITNESS_KEYS": ",".join(KEYS), "WITNESS_QUORUM": "4"},
            "FARMTRACE_WITNESS_QUORUM must be from 1 to the 3",
        ),
        ({"WITNESS_KEYS": ",".join(KEYS), "WITNESS_QUORUM": "0"}, "FARMTRACE_WITNESS_QUORUM must be from 1"),
        ({"WITNESS_QUORUM": "1"}, "no witness is configured"),
        ({"WITNESS_QUORUM": "two"}, "FARMTRACE_WITNESS_QUORUM must be a whole number"),
        ({"WITNESS_MAX_AGE": "0"}, "FARMTRACE_WITNESS_MAX_AGE must be a whole number of at least 1"),
        ({"WITNESS_MAX_AGE": "1h"}, "FARMTRACE_WITNESS_MAX_AGE"),
    ],
)
def test_bad_settings_are_refused_at_start_naming_the_variable(env, says):
    with pytest.raises(ConfigError, match=says):
        _settings(**env)


def test_two_witness_keys_under_one_name_are_refused():
    twins = [
        CosignatureSigner.from_seed("same.example/w", bytes([n]) * 32).verifier.key_string() for n in (1, 2)
    ]
    with pytest.raises(ConfigError, match="cannot form a policy"):
        _settings(WITNESS_KEYS=",".join(twins))
