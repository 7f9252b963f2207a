"""gallerykit.caching: a page script's cached functions are decorated once per process (issue 29:
Streamlit re-read each one's source on every run, 1-3 ms of the interpreter lock per run), and
each run's call still runs that run's own function."""
from __future__ import annotations

import gc
import re
import textwrap
import types
import weakref

import numpy as np
import pytest
import streamlit.runtime.caching.cache_utils as cache_utils

from utils.gallery import APPS_DIR, PAGE_FILES  # puts the apps' folder on the path, as Streamlit does

import gallerykit  # noqa: E402  isort: skip

SCRIPT = textwrap.dedent('''
    import numpy as np
    from gallerykit import cache_data, shared_figure

    calls = []

    @cache_data(max_entries=4, show_spinner=False)
    def scaled(key: str, factor: int, _data) -> float:
        calls.append(key)
        return float(np.sum(_data)) * factor * WEIGHT

    @shared_figure
    def figure(n: int):
        import plotly.graph_objects as go
        calls.append(f"figure {n}")
        return go.Figure(go.Scatter(y=list(range(n))))

    WEIGHT = weight  # set by each run, after the definitions (as a page's own values are)
    big = np.zeros(2**20)  # what a run holds at its end
''')


class Script:
    """One page script, written to ``path`` and compiled once (as Streamlit's ScriptCache does), run like a page."""

    def __init__(self, source: str, path):
        path.write_text(source)
        self.code = compile(source, str(path), "exec")

    def run(self, **values) -> types.ModuleType:
        module = types.ModuleType("__main__")  # a new module per run, as Streamlit's ScriptRunner makes
        module.__dict__.update(values)
        exec(self.code, module.__dict__)
        return module


@pytest.fixture
def keys_made(monkeypatch):
    """Names of the functions whose cache key Streamlit made (reading their source)."""
    made, original = [], cache_utils._make_function_key

    def counted(cache_type, func):
        made.append(func.__qualname__)
        return original(cache_type, func)

    monkeypatch.setattr(cache_utils, "_make_function_key", counted)
    return made


def test_a_second_run_reuses_the_cached_functions_of_the_first(keys_made, tmp_path):
    script = Script(SCRIPT, tmp_path / "reuse.py")
    first = script.run(weight=1)
    assert first.scaled("a", 2, _data=np.ones(3)) == 6.0
    first.figure(3)
    assert sorted(keys_made) == ["figure", "scaled"]
    second = script.run(weight=1)
    assert second.scaled("a", 2, _data=np.zeros(3)) == 6.0, "the first run's result, keyed without _data"
    assert second.figure(3) is first.figure(3)
    assert sorted(keys_made) == ["figure", "scaled"], "a run re-read a cached function's source"
    assert second.calls == [] and first.calls == ["a", "figure 3"]
    second.scaled.clear()
    assert second.scaled("a", 2, _data=np.ones(3)) == 6.0 and second.calls == ["a"]


def test_a_miss_runs_that_runs_function_with_that_runs_globals(tmp_path):
    script = Script(SCRIPT, tmp_path / "globals.py")
    first = script.run(weight=1)
    assert first.scaled("b", 1, _data=np.ones(2)) == 2.0
    second = script.run(weight=10)
    assert second.scaled("c", 1, _data=np.ones(2)) == 20.0, "ran with the first run's WEIGHT"
    assert (first.calls, second.calls) == (["b"], ["c"])


def test_nothing_of_an_earlier_run_is_kept(tmp_path):
    script = Script(SCRIPT, tmp_path / "kept.py")
    first = script.run(weight=1)
    first.scaled("d", 1, _data=np.ones(2))
    first.figure(2)
    held = weakref.ref(first.big)
    script.run(weight=1).scaled("d", 1, _data=np.ones(2))
    del first
    gc.collect()
    assert held() is None, "a cached function kept the first run's globals alive"


def test_an_edited_script_is_decorated_anew(keys_made, tmp_path):
    Script(SCRIPT, tmp_path / "edited.py").run(weight=1).scaled("e", 1, _data=np.ones(1))
    edited = Script(SCRIPT.replace("* factor * WEIGHT", "* factor * WEIGHT + 1"), tmp_path / "edited.py").run(weight=1)
    assert edited.scaled("e", 1, _data=np.ones(1)) == 2.0
    assert keys_made.count("scaled") == 2


def test_a_function_with_a_closure_runs_with_that_calls_closure(tmp_path):
    """Streamlit keys nested functions of one name alike (streamlit#11157): a miss runs the caller's."""
    def define(offset):
        @gallerykit.cache_data(show_spinner=False)
        def shifted(x: int) -> int:
            return x + offset
        return shifted

    assert define(1)(1) == 2 and define(100)(2) == 102


@pytest.mark.parametrize("page", PAGE_FILES)
def test_pages_decorate_their_cached_functions_once(page):
    """Every page's cached functions go through gallerykit's decorators, not Streamlit's directly."""
    source = (APPS_DIR / page).read_text()
    assert not re.findall(r"^\s*@st\.cache_(?:data|resource)\b", source, re.M), \
        f"{page}: use gallerykit.cache_data / cache_resource (decorated once per process)"
