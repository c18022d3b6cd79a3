"""FARMTRACE_INDEX_MAX_AGE (api/settings.py): the page's index age policy, and its place in the page.

The default follows the lag (FARMTRACE_INDEX_LAG + 60 s), also when the lag is set in code as the
tests' shared settings do; a bad value is refused at start, naming the variable; the consumer's page
embeds the limit in its ft-config beside the witness policy (docs/index.md §4 step 1b).
"""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.settings import ConfigError, Settings

from ..web.consumer_support import close_app, demo_app


def test_the_default_is_the_lag_plus_a_minute():
    assert Settings.from_env({}).index_age_limit() == 70
    assert Settings.from_env({"FARMTRACE_INDEX_LAG": "30"}).index_age_limit() == 90
    assert Settings.from_env({}, index_lag=3600).index_age_limit() == 3660
    assert (
        Settings.from_env({"FARMTRACE_INDEX_LAG": "30", "FARMTRACE_INDEX_MAX_AGE": "300"}).index_age_limit()
        == 300
    )
    assert Settings.from_env({"FARMTRACE_INDEX_MAX_AGE": "1"}).index_age_limit() == 1


@pytest.mark.parametrize("bad", ["0", "-5", "1.5", "ten", "１２", "9" * 13])
def test_a_bad_value_is_refused_naming_the_variable(bad):
    with pytest.raises(ConfigError, match="FARMTRACE_INDEX_MAX_AGE"):
        Settings.from_env({"FARMTRACE_INDEX_MAX_AGE": bad})


def test_the_page_embeds_the_limit(tmp_path):
    app, _ = demo_app(tmp_path)
    app.state.settings = Settings.from_env({}, **{**app.state.settings.__dict__, "index_max_age": 123})
    try:
        with TestClient(app) as client:
            page = client.get("/l/XF-BAG-0001").text
    finally:
        close_app(app)
    found = re.search(r'<script type="application/json" id="ft-config">(.*?)</script>', page, re.S)
    assert found is not None
    config = json.loads(html.unescape(found.group(1)))
    assert config["indexMaxAge"] == 123
    assert config["messages"]["verify.index_stale"].startswith("完整性未证明")
