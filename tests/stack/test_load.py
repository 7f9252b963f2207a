"""End-to-end: a class of 20 students on every gallery page of the production Streamlit service.

Protocol-level sessions (tests/utils/streamlit_ws.py), not browsers: each session opens the
page, the script runs, the client fetches every /media/ file, then the page is rerun. All 20
sessions start together. Asserts: no session fails, each session receives exactly what a lone
session receives for the same inputs (images by content, figures, text and widgets), and no
Streamlit process restarts or is OOM-killed.

Only the production ``balancer`` and the Streamlit processes behind it are started
(compose.yaml + compose.prod.yaml; STREAMLIT_REPLICAS's default, 2 processes, each with the
production limits: 2 CPUs, 2 GB, 256 pids); the other services play no part in this load.
"""
from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from utils.commands import run, wait_for
from utils.processes import main_pid
from utils.gallery import URL_PATHS
from utils.project import project
from utils.streamlit_ws import StreamlitSession, concurrent_sessions

pytestmark = pytest.mark.e2e

SESSIONS = 20
#: STREAMLIT_DISCONNECTED_SESSION_TTL of the stack under test: how long a closed tab is kept.
SESSION_TTL = 30
#: URL path of every gallery page; "" is the home page (the branching tree).
PAGES = URL_PATHS


@pytest.fixture(scope="module")
def prod_streamlit(docker_engine, python_image, scratch):
    with project(scratch, python_image, "load", JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                 APP_VERSION="9.9.9", GIT_SHA=uuid.uuid4().hex[:7],
                 DEPLOY_ENV="e2e", STREAMLIT_DISCONNECTED_SESSION_TTL=str(SESSION_TTL)) as p:
        p.files = ["compose.yaml", "compose.prod.yaml"]
        # The balancer and the Streamlit processes behind it (STREAMLIT_REPLICAS, default 2),
        # both named: Compose (2.40) builds a dependency's `service:` contexts only for services
        # it is asked for ("failed to find target" for `up balancer` alone).
        p.compose("up", "--build", "--wait", "--detach", "balancer", "streamlit", timeout=2400)
        assert len(p.containers("streamlit")) == 2
        yield p


def _states(p) -> list[dict]:
    """`docker inspect` of every Streamlit process's container."""
    return json.loads(run(["docker", "inspect", *p.containers("streamlit")]).stdout)


def _diagnosis(p) -> str:
    """What became of each streamlit container: restarts, OOM kill, exit code, the last health
    checks and the end of its log (for a failure's message: the stack is gone afterwards)."""
    out = []
    for state in _states(p):
        health = state["State"].get("Health", {})
        checks = [f"{h.get('ExitCode')}: {h.get('Output', '').strip()[:200]}" for h in health.get("Log", [])[-3:]]
        logs = run(["docker", "logs", "--tail", "30", state["Id"]], check=False)
        out.append(f"\n{state['Name']}: restarts {state['RestartCount']}, OOM-killed {state['State']['OOMKilled']}, "
                   f"exit code {state['State']['ExitCode']}, health {health.get('Status')}; last checks {checks}\n"
                   f"log tail:\n{(logs.stdout + logs.stderr)[-2500:]}")
    return "".join(out)


def _assert_every_process_kept_running(p) -> None:
    for state in _states(p):
        assert state["RestartCount"] == 0 and state["State"]["OOMKilled"] is False, _diagnosis(p)
        assert state["State"]["Status"] == "running"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p or "home")
def test_twenty_concurrent_sessions_see_what_a_lone_session_sees(prod_streamlit, page):
    base = prod_streamlit.url("streamlit", "/app")
    with StreamlitSession(base) as lone:
        reference = [lone.run_page(page), lone.run_page(page)]
    assert all(r.ok for r in reference), [r.errors for r in reference]
    assert reference[0].elements > 0 and reference[0].pictures, "the page showed no image"

    results = concurrent_sessions(base, page, SESSIONS, reruns=1)
    lost = [repr(r) for r in results if isinstance(r, BaseException)]
    assert not lost, f"{len(lost)} of {SESSIONS} sessions lost: {lost[:3]}{_diagnosis(prod_streamlit)}"
    failed = [r.errors for runs in results for r in runs if not r.ok]
    assert not failed, f"{len(failed)} runs failed: {failed[:3]}"
    differ = sum(r.signature != ref.signature for runs in results for r, ref in zip(runs, reference))
    assert differ == 0, f"{differ} of {2 * SESSIONS} runs differ from a lone session's"
    slowest = max(r.seconds for runs in results for r in runs)
    retried = sum(len(r.retried) for runs in results for r in runs)
    print(f"\n{page or 'home'}: {SESSIONS} sessions x 2 runs ok, slowest {slowest:.1f} s, "
          f"{retried} media GETs retried on a new connection")
    _assert_every_process_kept_running(prod_streamlit)


def _peak_memory_bytes(container: str) -> int:
    """The container's peak memory use so far (cgroup v2 memory.peak, v1 max_usage_in_bytes)."""
    out = run(["docker", "exec", container, "sh", "-c",
               "cat /sys/fs/cgroup/memory.peak 2>/dev/null || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes"])
    return int(out.stdout.split()[0])


def test_a_class_growing_dla_at_the_particle_cap_fits_the_server(prod_streamlit):
    """20 students move DLA's particle slider to its cap, ten to each of two seeds, at once:
    the clusters are shared across sessions (not kept per session), each render stays small,
    and the 2 GB service is neither OOM-killed nor restarted, with headroom."""
    base = prod_streamlit.url("streamlit", "/app")
    with StreamlitSession(base) as probe:
        probe.run_page("dla")
        assert {"d_particles", "d_seed"} <= probe.widgets.keys(), probe.widgets
    cap, seeds = 50_000, 2  # two distinct clusters at the cap
    results = concurrent_sessions(base, "dla", SESSIONS, reruns=1, timeout=900,
                                  widgets=lambda i: {"d_particles": cap, "d_seed": i % seeds})
    lost = [repr(r) for r in results if isinstance(r, BaseException)]
    assert not lost, f"{len(lost)} of {SESSIONS} sessions lost: {lost[:3]}{_diagnosis(prod_streamlit)}"
    failed = [r.errors for runs in results for r in runs if not r.ok]
    assert not failed, f"{len(failed)} runs failed: {failed[:3]}"
    # the slider reached the server: every capped run shows something else than the default run
    assert all(runs[1].signature != runs[0].signature for runs in results)
    capped = [runs[1] for runs in results]
    # The images each session received (by content): one cluster per seed, whoever grew it.
    by_seed = {}
    for i, r in enumerate(capped):
        by_seed.setdefault(i % seeds, set()).add(tuple(sorted(d for _, _, d in r.media.values())))
    assert all(len(images) == 1 for images in by_seed.values()), "sessions with the same seed saw different clusters"
    assert len({next(iter(s)) for s in by_seed.values()}) == seeds, "different seeds gave the same cluster"

    _assert_every_process_kept_running(prod_streamlit)
    limit = _states(prod_streamlit)[0]["HostConfig"]["Memory"]  # each process's
    peak = max(_peak_memory_bytes(c) for c in prod_streamlit.containers("streamlit"))
    slowest = max(r.seconds for r in capped)
    # Headroom, not just survival: the next class's pages must fit too.
    assert peak < 0.75 * limit, f"peak memory {peak / 2**20:.0f} MiB of a {limit / 2**20:.0f} MiB limit"
    print(f"\nDLA at {cap:,} particles, {SESSIONS} sessions / {seeds} seeds: peak memory {peak / 2**20:.0f} MiB "
          f"of {limit / 2**20:.0f} MiB, slowest run {slowest:.0f} s")


#: Streamlit's own metrics, read inside a container (each process's; the balancer would pick one).
METRICS = ("import urllib.request; print(urllib.request.urlopen("
           "'http://127.0.0.1:8501/app/_stcore/metrics', timeout=30).read().decode())")


def _media_bytes(p) -> int:
    """Bytes of images and other media the Streamlit processes hold for sessions, from
    Streamlit's own metrics endpoint (``cache_memory_bytes`` of its media storage; recomputed
    every 5 s), summed over the processes."""
    time.sleep(5.5)
    total = 0.0
    for c in p.containers("streamlit"):
        text = run(["docker", "exec", c, "python", "-c", METRICS]).stdout
        found = re.findall(r'^cache_memory_bytes\{[^}]*st_memory_media_file_storage[^}]*\}\s+(\S+)$', text, re.M)
        total += sum(float(v) for v in found)
    return int(total)


def _probe_then_media_bytes(p, base: str) -> int:
    """Open and close a connection to every process (no page run: no images; the balancer
    spreads new connections), which lets each expire the sessions whose TTL has passed, then
    :func:`_media_bytes`."""
    for _ in range(2 * len(p.containers("streamlit"))):
        probe = StreamlitSession(base)
        probe.connect()
        probe.close()
    return _media_bytes(p)


def test_closed_tabs_release_their_memory(prod_streamlit):
    """20 students each grow their own DLA cluster (distinct images) and close the tab.
    Streamlit keeps a closed tab's session for STREAMLIT_DISCONNECTED_SESSION_TTL seconds so a
    reconnect resumes it, then drops it; it notices on a later connection. The images of the
    closed tabs are released: what remains is at most one closed tab's images per process
    (Streamlit may keep a process's most recently closed session until a later expiry)."""
    base = prod_streamlit.url("streamlit", "/app")
    # A fresh server process: no image of an earlier test's tabs is held or released meanwhile.
    prod_streamlit.compose("restart", "streamlit")
    prod_streamlit.compose("up", "--wait", "--detach", "balancer", "streamlit")
    before = _probe_then_media_bytes(prod_streamlit, base)
    results = concurrent_sessions(base, "dla", SESSIONS, reruns=1,
                                  widgets=lambda i: {"d_particles": 3000, "d_seed": 7000 + i})
    lost = [repr(r) for r in results if isinstance(r, BaseException)]
    assert not lost, f"{len(lost)} of {SESSIONS} sessions lost: {lost[:3]}"
    assert not [r.errors for runs in results for r in runs if not r.ok]
    per_tab = sorted(sum(size for _, size, _ in runs[1].media.values()) for runs in results)
    own = sum(per_tab)
    allowed = sum(per_tab[-len(prod_streamlit.containers("streamlit")):])  # the largest tab per process
    # Within the TTL the closed tabs' images are still held (for a reconnect); the count shows
    # that the measurement sees them (half, since a slow class spreads the closing over time).
    held = _media_bytes(prod_streamlit) - before
    assert held >= 0.5 * own, f"the tabs' {own} bytes of images, but the server counts {held}"

    deadline = time.monotonic() + SESSION_TTL + 120
    while True:
        left = _probe_then_media_bytes(prod_streamlit, base) - before
        if left <= allowed:
            break
        assert time.monotonic() < deadline, (
            f"{left} of {own} bytes of closed tabs' images still held {SESSION_TTL + 120} s after closing "
            f"(allowed: {allowed}, the largest tab of each process)")
    print(f"\nclosed tabs: {own / 1024:.0f} KiB of images held for {SESSION_TTL} s, then "
          f"{max(left, 0) / 1024:.0f} KiB left")



def test_a_killed_process_loses_only_its_own_sessions(prod_streamlit):
    """Ten tabs spread over the two processes (the balancer's cookie pins each). One process is
    killed (kill -9) while every tab reruns its page: exactly the tabs pinned to it lose their
    session, every tab of the other process sees what it saw before, a new tab is served at
    once, and the killed process comes back healthy."""
    base = prod_streamlit.url("streamlit", "/app")
    tabs = [StreamlitSession(base) for _ in range(10)]
    try:
        first = {}
        for i, tab in enumerate(tabs):
            tab.connect()
            first[i] = tab.run_page("")
            assert first[i].ok, first[i].errors
        pinned = {i: tab.http.cookies.get("FRACTAL_REPLICA") for i, tab in enumerate(tabs)}
        assert len(set(pinned.values())) == 2 and None not in pinned.values(), pinned  # both processes serve
        victim = prod_streamlit.containers("streamlit")[0]
        restarts = json.loads(run(["docker", "inspect", victim]).stdout)[0]["RestartCount"]

        import threading
        reruns: dict = {}

        def rerun(i):
            try:
                reruns[i] = tabs[i].run_page("")
            except Exception as exc:  # noqa: BLE001 - a lost session, reported below
                reruns[i] = exc

        threads = [threading.Thread(target=rerun, args=(i,)) for i in range(len(tabs))]
        run(["kill", "-9", str(main_pid(victim))])
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lost = {i for i, r in reruns.items() if isinstance(r, Exception) or not r.ok}
        kept = set(reruns) - lost
        # The lost tabs are exactly one process's: all of its tabs and none of the other's.
        assert lost and {pinned[i] for i in lost}.isdisjoint(pinned[i] for i in kept), (pinned, reruns)
        assert len({pinned[i] for i in lost}) == 1, (pinned, reruns)
        assert all(reruns[i].signature == first[i].signature for i in kept), "a surviving tab saw something else"
        with StreamlitSession(base) as newcomer:  # the balancer sends a new tab to a live process
            assert newcomer.run_page("").ok
        wait_for(lambda: json.loads(run(["docker", "inspect", victim]).stdout)[0]["RestartCount"] > restarts,
                 timeout=60, what="the killed process to restart")
        wait_for(lambda: json.loads(run(["docker", "inspect", victim]).stdout)[0]["State"].get("Health", {})
                 .get("Status") == "healthy", timeout=120, interval=1, what="the killed process to be healthy")
        print(f"\nkilled one of 2 processes: {len(lost)} of {len(tabs)} tabs lost (its own), {len(kept)} kept")
    finally:
        for tab in tabs:
            tab.close()


#: HAProxy's httplog: "... <termination state> actconn/feconn/beconn/srv_conn/retries ..."
#: ("+N": redispatched), e.g. "--NI 1/1/0/0/+1".
RETRIES = re.compile(r" [-A-Za-z]{4} \d+/\d+/\d+/\d+/\+?(\d+) ")


def test_a_stopped_process_delays_at_most_one_new_tab(prod_streamlit):
    """One of the two processes is stopped (`docker stop`: a crash that is not restarted, or a
    scale-down): its address no longer answers. New tabs are all served, and at most one of them
    waits for a connection retry: the balancer takes the process out on that first failure
    (the trial saw every other new tab wait 5 s for ~11 s, until three checks had failed).
    `up --wait` brings it back."""
    base = prod_streamlit.url("streamlit", "/app")
    balancer = prod_streamlit.container("balancer")
    victim = prod_streamlit.containers("streamlit")[1]
    run(["docker", "stop", "--time", "5", victim])
    since = run(["docker", "inspect", "--format", "{{.State.FinishedAt}}", victim]).stdout.strip()
    try:
        for _ in range(8):
            with StreamlitSession(base) as tab:
                r = tab.run_page("")
                assert r.ok, r.errors
        log = run(["docker", "logs", "--since", since, balancer])
        retried = [line for line in log.stdout.splitlines() if (m := RETRIES.search(line)) and int(m[1])]
        assert len(retried) <= 1, "\n".join(retried)
        # taken out: at the first failed connection of a tab (`observe layer4`: "Health analyze"),
        # or by a check when no tab was sent there first (CI saw "Layer4 timeout" on a busy host);
        # `option log-health-checks` logs the failed check with its reason, then "is DOWN."
        checks = "\n".join(line for line in (log.stdout + log.stderr).splitlines() if " gallery " not in line)
        assert re.search(r"Health check for server streamlit/\S+ failed, reason: (Health analyze|Layer4)", checks) \
            and re.search(r"Server streamlit/\S+ is DOWN", checks), checks
    finally:
        prod_streamlit.compose("up", "--wait", "--detach", "balancer", "streamlit")
    assert len(prod_streamlit.containers("streamlit")) == 2


def test_one_process_comes_up_healthy_and_serves(prod_streamlit):
    """STREAMLIT_REPLICAS=1 (the knob's low end): `up --wait` scales the running stack to one
    process, which is healthy, and the balancer serves every page from it. Last in the module:
    it leaves the stack with one process."""
    prod_streamlit.compose("up", "--wait", "--detach", "balancer", "streamlit", env={"STREAMLIT_REPLICAS": "1"})
    (only,) = prod_streamlit.containers("streamlit")
    assert json.loads(run(["docker", "inspect", only]).stdout)[0]["State"]["Health"]["Status"] == "healthy"
    assert prod_streamlit.health("balancer") == "healthy"
    base = prod_streamlit.url("streamlit", "/app")
    with StreamlitSession(base) as tab:
        for page in PAGES:
            r = tab.run_page(page)
            assert r.ok and r.pictures, (page, r.errors)
        assert tab.http.cookies.get("FRACTAL_REPLICA"), "the balancer set no affinity cookie"
