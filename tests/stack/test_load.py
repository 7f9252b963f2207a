"""End-to-end: a class of 20 students on every gallery page of the production Streamlit service.

Protocol-level sessions (tests/utils/streamlit_ws.py), not browsers: each session opens the
page, the script runs, the client fetches every /media/ file, then the page is rerun. All 20
sessions start together. Asserts: no session fails, each session receives exactly what a lone
session receives for the same inputs (images by content, figures, text and widgets), and the
container neither restarts nor is OOM-killed.

Only the production ``streamlit`` service is started (compose.yaml + compose.prod.yaml, its
production limits: 2 CPUs, 2 GB, 256 pids); the other services play no part in this load.
"""
from __future__ import annotations

import json
import uuid

import pytest

from conftest import ROOT, make_project, run
from utils.streamlit_ws import StreamlitSession, concurrent_sessions

pytestmark = pytest.mark.e2e

SESSIONS = 20
#: URL path of every gallery page; "" is the home page (the branching tree).
PAGES = ["", *sorted(p.stem for p in (ROOT / "apps").glob("*.py")
                     if not p.name.startswith("_") and p.name != "branching_tree.py")]


@pytest.fixture(scope="module")
def prod_streamlit(docker_engine, base_image, scratch):
    p = make_project(scratch, base_image, "load", JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                     APP_VERSION="9.9.9", GIT_SHA=uuid.uuid4().hex[:7],
                     DEPLOY_ENV="e2e")
    p.files = ["compose.yaml", "compose.prod.yaml"]
    try:
        p.compose("up", "--build", "--wait", "--detach", "streamlit", timeout=2400)
        yield p
    finally:
        p.cleanup()


def _state(p) -> dict:
    return json.loads(run(["docker", "inspect", p.container("streamlit")]).stdout)[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p or "home")
def test_twenty_concurrent_sessions_see_what_a_lone_session_sees(prod_streamlit, page):
    base = prod_streamlit.url("streamlit", "/app")
    with StreamlitSession(base) as lone:
        reference = [lone.run_page(page), lone.run_page(page)]
    assert all(r.ok for r in reference), [r.errors for r in reference]
    assert reference[0].elements > 0 and reference[0].media, "the page showed no image"

    results = concurrent_sessions(base, page, SESSIONS, reruns=1)
    lost = [repr(r) for r in results if isinstance(r, BaseException)]
    assert not lost, f"{len(lost)} of {SESSIONS} sessions lost: {lost[:3]}"
    failed = [r.errors for runs in results for r in runs if not r.ok]
    assert not failed, f"{len(failed)} runs failed: {failed[:3]}"
    differ = sum(r.signature != ref.signature for runs in results for r, ref in zip(runs, reference))
    assert differ == 0, f"{differ} of {2 * SESSIONS} runs differ from a lone session's"
    slowest = max(r.seconds for runs in results for r in runs)
    retried = sum(len(r.retried) for runs in results for r in runs)
    print(f"\n{page or 'home'}: {SESSIONS} sessions x 2 runs ok, slowest {slowest:.1f} s, "
          f"{retried} media GETs retried on a new connection")

    state = _state(prod_streamlit)
    assert state["RestartCount"] == 0 and state["State"]["OOMKilled"] is False
    assert state["State"]["Status"] == "running"
