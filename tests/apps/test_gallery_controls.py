"""Every control of every gallery page at its min and at its max, together and one at a time (AppTest)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from utils.gallery import APPS, APPS_DIR, TIMEOUT, assert_ok, coerce, controls, start


def set_all(at: AppTest, which: int) -> None:
    for w, lo, hi in controls(at):
        value = (lo, hi)[which]
        if w.type in ("selectbox", "radio", "select_slider") and not isinstance(value, tuple):
            value = coerce(w, value)
        w.set_value(value)


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("extreme", ["min", "max"])
def test_all_controls_at_extremes(app, extreme):
    at = start(app)
    for _ in range(2):  # twice: a choice (e.g. a preset) can bring new widgets
        set_all(at, 0 if extreme == "min" else 1)
        at.run()
        assert_ok(at)


def _individual_cases():
    cases = []
    for app in APPS:
        at = AppTest.from_file(str(APPS_DIR / app), default_timeout=TIMEOUT)
        at.run()
        for i, (w, lo, hi) in enumerate(controls(at)):
            for side in ("min", "max"):
                cases.append(pytest.param(app, i, side, id=f"{app}-{w.type}-{w.key or w.label}-{side}"))
    return cases


@pytest.mark.parametrize("app,index,side", _individual_cases())
def test_each_control_at_extreme(app, index, side):
    at = start(app)
    w, lo, hi = controls(at)[index]
    value = lo if side == "min" else hi
    w.set_value(coerce(w, value) if w.type in ("selectbox", "radio") else value)
    at.run()
    assert_ok(at)
