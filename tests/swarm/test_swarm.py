"""End-to-end: the production stack on a real one-node Docker Swarm (swarm/deploy-swarm.sh).

The engine under test becomes a swarm manager for this module (listening on loopback only) and
leaves the swarm afterwards. The images are built by Compose from compose.prod.yaml, deployed
with the documented command, and reached the way a visitor reaches them: HTTPS through the
proxy (nginx), then the sticky balancer (HAProxy) in front of three Streamlit replicas.

Sessions are protocol-level tabs (tests/utils/streamlit_ws.py): they load the page, keep the
cookies they are given, open the websocket, fetch every media file and upload a file.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from datetime import datetime

import pytest
import requests

from utils.commands import free_port, run, wait_for
from utils.processes import main_pid
from utils.project import HOST_GID, HOST_UID
from utils.streamlit_ws import SessionError, StreamlitSession

from tabs import Visitors, home_tab, png, refused, tabs, upload_tab  # tests/swarm/tabs.py

pytestmark = pytest.mark.e2e

REPLICAS = 3  # swarm_release's STREAMLIT_REPLICAS
SESSIONS = 30
#: Services of the stack and the compose.prod.yaml service whose limits and healthcheck each has.
SOURCE = {"streamlit": "streamlit", "jupyter": "jupyter", "docs": "docs", "proxy": "proxy", "balancer": "proxy"}


@pytest.fixture(scope="module")
def swarm(docker_engine):
    state = run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()
    if state != "inactive":
        pytest.fail(f"this engine is already in a swarm ({state}); the test makes and leaves its own: "
                    "run `docker swarm leave --force` first")
    had_gwbridge = run(["docker", "network", "inspect", "docker_gwbridge"], check=False).returncode == 0
    port = free_port()
    run(["docker", "swarm", "init", "--listen-addr", f"127.0.0.1:{port}", "--advertise-addr", f"127.0.0.1:{port}"])
    try:
        yield
    finally:
        run(["docker", "swarm", "leave", "--force"], check=False, timeout=120)
        if not had_gwbridge:  # the bridge `swarm init` made for the node's tasks stays after leaving
            run(["docker", "network", "rm", "docker_gwbridge"], check=False)


def _stack_rm(name: str) -> None:
    run(["docker", "stack", "rm", name], check=False, timeout=120)
    label = f"label=com.docker.stack.namespace={name}"
    wait_for(lambda: not run(["docker", "ps", "-aq", "--filter", label]).stdout.strip()
             and not run(["docker", "network", "ls", "-q", "--filter", label]).stdout.strip(),
             timeout=180, interval=1, what=f"stack {name} to be removed")
    volumes = run(["docker", "volume", "ls", "-q", "--filter", label]).stdout.split()
    if volumes:
        run(["docker", "volume", "rm", *volumes], check=False)


@pytest.fixture(scope="module")
def stack(swarm, swarm_release):
    """The published release (conftest.py here) deployed with swarm/deploy-swarm.sh."""
    p = swarm_release
    try:
        t0 = time.monotonic()
        out = run(["bash", "swarm/deploy-swarm.sh"], cwd=p.dir, env=p.deploy_env, timeout=900)
        print(f"\ndeploy-swarm.sh {time.monotonic() - t0:.0f} s to a converged, healthy stack\n{out.stdout}")
        yield p
    finally:
        _stack_rm(p.name)


def service(p, name) -> dict:
    return json.loads(run(["docker", "service", "inspect", p.service(name)]).stdout)[0]


def containers(p, name) -> list[dict]:
    """The running containers of a service's tasks (one node: all of them are here)."""
    ids = run(["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={p.service(name)}"]).stdout.split()
    return json.loads(run(["docker", "inspect", *ids]).stdout) if ids else []


def healthy(p, name, replicas) -> bool:
    cs = containers(p, name)
    return len(cs) == replicas and all(c["State"].get("Health", {}).get("Status") == "healthy" for c in cs)


def test_the_stack_runs_with_compose_prods_limits_and_healthchecks(stack):
    prod = json.loads(stack.compose("--profile", "proxy", "config", "--format", "json").stdout)["services"]
    expected = {"streamlit": REPLICAS, "jupyter": 1, "docs": 2, "proxy": 1, "balancer": 1}
    for name, replicas in expected.items():
        spec = service(stack, name)["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == replicas, name
        assert healthy(stack, name, replicas), (name, [c["State"] for c in containers(stack, name)])
        src = prod[SOURCE[name]]
        task = spec["TaskTemplate"]
        limits = task["Resources"]["Limits"]
        want = src["deploy"]["resources"]["limits"]
        assert limits["NanoCPUs"] == int(float(want["cpus"]) * 1e9), name
        assert limits["MemoryBytes"] == int(want["memory"]), name
        assert limits["Pids"] == want["pids"], name
        c = task["ContainerSpec"]
        assert c["User"] == "app" and c["ReadOnly"] is True and c["CapabilityDrop"] == ["ALL"], name
        size = int(re.search(r"size=(\d+)m", next(t for t in src["tmpfs"] if t.startswith("/tmp:"))).group(1))
        assert {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": size * 2**20}} in [
            {k: m.get(k) for k in ("Type", "Target", "TmpfsOptions")} for m in c.get("Mounts", [])], name
        hc, want_hc = c["Healthcheck"], src["healthcheck"]
        assert not hc.get("Test") and hc["Retries"] == want_hc["retries"], name  # the test: the image's
        assert task["RestartPolicy"]["Condition"] == "any", name
        for cont in containers(stack, name):
            assert cont["Config"]["User"] == "app" and cont["HostConfig"]["ReadonlyRootfs"] is True
            assert cont["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "fractal-healthcheck"], name
    assert service(stack, "jupyter")["Spec"]["TaskTemplate"]["Placement"]["Constraints"] == [
        "node.labels.fractal-notebooks.notebooks == true"]
    for name in SOURCE:  # the published images, pinned by digest at deploy
        image = service(stack, name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        assert image.startswith(stack.registry + "/") and "@sha256:" in image, image
    for name in ("streamlit", "docs", "balancer"):
        assert service(stack, name)["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
        assert service(stack, name)["Spec"]["UpdateConfig"]["FailureAction"] == "rollback"


def _default_route(container_id: str) -> bool:
    """Whether the container has a default route (a way out of the host's networks)."""
    table = run(["docker", "exec", container_id, "cat", "/proc/net/route"]).stdout.splitlines()[1:]
    return any(line.split()[1] == "00000000" for line in table)


def test_only_the_proxy_and_jupyterlab_have_a_way_out(stack):
    """Swarm's overlay networks give every task on a non-internal one a default route through
    docker_gwbridge: Streamlit and docs, on the internal network only, must have none."""
    for name, way_out in {"streamlit": False, "docs": False, "balancer": False, "jupyter": True,
                          "proxy": True}.items():
        for c in containers(stack, name):
            assert _default_route(c["Id"]) is way_out, (name, c["Name"])


def test_https_through_the_proxy_reaches_every_service(stack):
    r = requests.get(stack.https + "/app/", verify=stack.ca, timeout=30)
    assert r.status_code == 200 and "<title>" in r.text
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("FRACTAL_REPLICA=") and "Secure" in cookie and "HttpOnly" in cookie, cookie
    assert requests.get(stack.https + "/", verify=stack.ca, timeout=30).status_code == 200
    r = requests.get(stack.https + "/jupyter/api/status", verify=stack.ca, timeout=30,
                     headers={"Authorization": f"token {stack.env['JUPYTER_TOKEN']}"})
    assert r.status_code == 200, r.text
    assert requests.get(stack.https + "/jupyter/api/status", verify=stack.ca, timeout=30).status_code == 403


def test_a_deploy_that_swarm_rolls_back_is_reported_as_failed(stack):
    """DOCS_MEMORY under the engine's minimum: the new docs tasks are rejected, Swarm rolls the
    service back and the stack converges on the old settings. The deploy must not say success."""
    docs = stack.service("docs")
    before = service(stack, "docs")["Spec"]["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"]
    out = run(["bash", "swarm/deploy-swarm.sh"], cwd=stack.dir, env={**stack.deploy_env, "DOCS_MEMORY": "4m"},
              check=False, timeout=900)
    assert out.returncode != 0, out.stdout
    assert f"{docs} was rolled back" in out.stderr and "Minimum memory limit" in out.stderr, out.stderr
    assert "was rolled back" not in out.stderr.replace(f"{docs} was rolled back", ""), out.stderr  # only docs
    assert service(stack, "docs")["Spec"]["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == before
    wait_for(lambda: healthy(stack, "docs", 2), timeout=120, interval=1, what="docs healthy on its old settings")
    # The same deploy with the old settings succeeds again: the old rollback is not reported.
    out = run(["bash", "swarm/deploy-swarm.sh"], cwd=stack.dir, env=stack.deploy_env, check=False, timeout=900)
    assert out.returncode == 0, out.stderr


def test_a_first_deploy_whose_service_keeps_exiting_fails_early_and_says_why(stack):
    """A new stack whose gallery refuses to start (a STREAMLIT_APP the image has no page for: the
    deploy's own check cannot know the image's pages): nothing to roll back to, so Swarm would
    restart it until SWARM_WAIT. The deploy stops after three exits of one service and shows its
    log, not the timeout."""
    bad = stack.name + "-bad"
    env = {**stack.deploy_env, "STACK_NAME": bad, "STREAMLIT_APP": "nope.py", "SWARM_WAIT": "1500",
           "PROXY_HTTPS_PORT": str(free_port()), "STREAMLIT_REPLICAS": "1", "DOCS_REPLICAS": "1"}
    try:
        out = run(["bash", "swarm/deploy-swarm.sh"], cwd=stack.dir, env=env, check=False, timeout=1500)
    finally:
        _stack_rm(bad)
    assert out.returncode != 0, out.stdout
    assert "keeps exiting at start" in out.stderr and "STREAMLIT_APP=nope.py is not a page" in out.stderr, \
        out.stderr
    assert "did not converge" not in out.stderr


def test_the_proxy_says_when_it_cannot_read_its_key(stack, tmp_path):
    """A key copied as openssl wrote it (0600) for another owner: the proxy names the file, its
    user and the fix, at start (Compose or Swarm alike)."""
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")])
    tmp_path.chmod(0o755)
    os.chown(tmp_path / "tls.key", HOST_UID + 1000, HOST_GID + 1000)  # not the images' user
    (tmp_path / "tls.key").chmod(0o600)
    image = service(stack, "proxy")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    out = run(["docker", "run", "--rm", "-e", "MAX_UPLOAD_MB=25", "-e", "PROXY_APP_UPSTREAM=streamlit:8501",
               "-v", f"{tmp_path}:/etc/fractal-proxy/tls:ro", image], check=False, timeout=120)
    assert out.returncode == 64, (out.stdout, out.stderr)
    assert f"tls.key in PROXY_TLS_DIR is not readable by the proxy's user (UID {HOST_UID}" in out.stderr, out.stderr


def test_thirty_tabs_keep_their_replica_for_media_and_uploads(stack):
    image = png()
    results = tabs(SESSIONS, lambda: upload_tab(stack.https + "/app", stack.ca, image))
    assert refused(results) == []
    assert [r["errors"] for r in results if r["errors"]] == []
    assert all(r["analysed"] and r["media"] >= 4 for r in results)
    # The balancer spread the class over every replica (least connections), one cookie each.
    assert len({r["replica"] for r in results}) == REPLICAS, [r["replica"] for r in results]

    # The same tabs with nginx sending /app/ straight to the replicas (Docker's DNS round robin,
    # what a stack without the balancer does): media 404s and upload 400s. The test can fail.
    proxy = stack.service("proxy")
    run(["docker", "service", "update", "--quiet", "--detach=false", "--env-add", "PROXY_APP_UPSTREAM=streamlit:8501",
         proxy], timeout=300)
    try:
        unbalanced = tabs(10, lambda: upload_tab(stack.https + "/app", stack.ca, image))
    finally:
        run(["docker", "service", "rollback", "--quiet", "--detach=false", proxy], timeout=300)
    lost = refused(unbalanced)
    print(f"\nwithout the balancer: {len(lost)} refused requests in 10 tabs, e.g. {lost[:3]}")
    assert lost, "without the sticky balancer every request still reached its session's replica"
    assert requests.get(stack.https + "/app/", verify=stack.ca, timeout=30).headers["Set-Cookie"].startswith(
        "FRACTAL_REPLICA=")


def test_a_frozen_replica_is_replaced_and_gets_no_new_tabs(stack):
    before = containers(stack, "streamlit")
    frozen = before[0]
    pid = main_pid(frozen["Id"])
    since = run(["date", "-u", "+%Y-%m-%dT%H:%M:%S"]).stdout.strip()
    t0 = time.monotonic()
    subprocess.run(["kill", "-STOP", str(pid)], check=True)
    try:
        wait_for(lambda: " is DOWN" in run(["docker", "service", "logs", "--raw", "--since", since,
                                            stack.service("balancer")]).stdout,
                 timeout=120, interval=1, what="the balancer to take the frozen replica out")
        t_down = time.monotonic() - t0
        failures = [e for e in tabs(10, lambda: home_tab(stack.https + "/app", stack.ca)) if e]
        assert failures == [], failures
        wait_for(lambda: frozen["Id"] not in {c["Id"] for c in containers(stack, "streamlit")}
                 and healthy(stack, "streamlit", REPLICAS), timeout=300, interval=1,
                 what="Swarm to replace the frozen replica with a healthy one")
        t_replaced = time.monotonic() - t0
    finally:
        subprocess.run(["kill", "-CONT", str(pid)], check=False, capture_output=True)  # if not yet replaced
    print(f"\nfrozen replica: out of the balancer after {t_down:.0f} s, replaced (new task healthy) "
          f"after {t_replaced:.0f} s")


def _when(stamp: str) -> float:
    """An engine timestamp (RFC 3339, nanoseconds, UTC) as seconds since the epoch."""
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def test_a_stopping_replica_serves_its_tabs_and_takes_no_new_ones(stack):
    """Scale 3 -> 2: Swarm takes one task out of DNS at once, signals it (SIGWINCH) 2 s later and
    kills it stop_grace_period (swarm/compose.yaml) after that. Until then, tabs pinned to it keep working (their reruns and
    media); from the balancer's "is stopping" on, new tabs go to the others."""
    name, base = stack.service("streamlit"), stack.https + "/app"
    before = {c["Id"] for c in containers(stack, "streamlit")}
    held = [StreamlitSession(base, timeout=120, verify=stack.ca) for _ in range(2 * REPLICAS)]
    reruns, new, stop, threads = [], [], threading.Event(), []

    def rerun(i, s):  # one held tab: rerun its page and fetch its media until the end
        cookie, k = s.http.cookies.get("FRACTAL_REPLICA"), 0
        while not stop.is_set():
            t, k = time.time(), k + 1
            # A branch angle of this tab's own at each rerun: an image only its replica has.
            angle = 5.0 + 0.5 * ((i * 37 + k) % 160)
            try:
                r = s.run_page("", widgets={"angle": angle})
                reruns.append((t, time.time(), cookie, r.ok, r.errors))
            except SessionError as exc:
                reruns.append((t, time.time(), cookie, False, [str(exc)]))
                return

    def open_tabs():  # new tabs, one after another
        while not stop.is_set():
            t, s = time.time(), StreamlitSession(base, timeout=120, verify=stack.ca)
            try:
                s.connect()
                new.append((t, s.http.cookies.get("FRACTAL_REPLICA"), s.run_page("").ok))
            except SessionError as exc:
                new.append((t, s.http.cookies.get("FRACTAL_REPLICA"), str(exc)))
            finally:
                s.close()

    try:
        # One at a time: least connections gives each replica two, once the balancer has all
        # of them up (a replica that replaced another, in the test before, may not be yet).
        deadline = time.monotonic() + 120
        while True:
            for s in held:
                s.connect()
                assert s.run_page("").ok
            if len({s.http.cookies.get("FRACTAL_REPLICA") for s in held}) == REPLICAS:
                break
            for s in held:
                s.close()
            assert time.monotonic() < deadline, "the balancer did not spread 6 tabs over the 3 replicas"
            time.sleep(3)
            held = [StreamlitSession(base, timeout=120, verify=stack.ca) for _ in range(2 * REPLICAS)]
        threads += [threading.Thread(target=rerun, args=(i, s)) for i, s in enumerate(held)]
        threads += [threading.Thread(target=open_tabs) for _ in range(2)]
        t0 = time.time()
        for t in threads:
            t.start()
        run(["docker", "service", "scale", "--detach", f"{name}=2"])
        wait_for(lambda: len(containers(stack, "streamlit")) == 2, timeout=180, interval=1,
                 what="the stopped task to be gone")
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:  # the running reruns finish; a tab of the killed task may hang ...
            if t.ident:
                t.join(timeout=60)
        for s in held:  # ... until its websocket is closed here
            s.close()
        for t in threads:
            if t.ident:
                t.join(timeout=60)
        gone = before - {c["Id"] for c in containers(stack, "streamlit")}
        run(["docker", "service", "scale", "--detach=false", f"{name}={REPLICAS}"], timeout=600)
        wait_for(lambda: healthy(stack, "streamlit", REPLICAS), timeout=300, interval=1, what="replicas back")
    assert len(gone) == 1, gone
    gone = gone.pop()
    # Scaled down, the task's container is removed: its SIGKILL is in the engine's events.
    events = run(["docker", "events", "--since", str(int(t0) - 1), "--until", str(int(time.time()) + 1), "--filter",
                  f"container={gone}", "--filter", "event=kill", "--format",
                  "{{.TimeNano}} {{.Actor.Attributes.signal}}"]).stdout.split("\n")
    kills = [int(e.split()[0]) / 1e9 for e in events if e.split()[1:] == ["9"]]
    assert kills, f"no SIGKILL for {gone}: {events}"
    killed = kills[0]
    survivors = {r[2] for r in reruns if r[1] > killed + 1 and r[3]}
    drained = {r[2] for r in reruns} - survivors
    assert len(drained) == 1 and len(survivors) == 2, (drained, survivors)
    # Every rerun that ended before the kill worked, on the stopping replica too, also long
    # after it left DNS (the balancer used to drop it ~3 s after that, and its tabs' media 404).
    before_kill = [r for r in reruns if r[1] < killed]
    assert [r for r in before_kill if not r[3]] == [], [r for r in before_kill if not r[3]][:3]
    late = [r for r in before_kill if r[2] in drained and r[0] > killed - 5]
    assert late, "no rerun of a draining tab in its last 5 s: the test did not test the drain"
    assert [r for r in reruns if r[2] in survivors and not r[3]] == []
    # New tabs all worked, and none went to the stopping replica once the balancer drained it.
    logs = run(["docker", "service", "logs", "--raw", "--timestamps", "--since", str(int(t0) - 1),
                stack.service("balancer")]).stdout
    stopping = [_when(line.split()[0]) for line in logs.splitlines() if " is stopping" in line]
    checks = "\n".join(line for line in logs.splitlines() if "streamlit/replica" in line and " gallery " not in line)
    assert stopping, f"the balancer never drained the stopping replica; its checks and states:\n{checks}"
    assert [n for n in new if n[2] is not True] == []
    assert [n for n in new if n[0] > stopping[0] and n[1] in drained] == []
    print(f"\ndrain: 'is stopping' {stopping[0] - t0:.1f} s after the scale, killed {killed - t0:.1f} s after; "
          f"{len(late)} reruns on it in its last 5 s, {len(new)} new tabs, none failed")


def _image(stack) -> str:
    """The streamlit service's image, without the digest Swarm pinned it to."""
    return service(stack, "streamlit")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]


def _serving(stack) -> set[str]:
    """The images of the streamlit containers running now."""
    return {c["Config"]["Image"].split("@")[0] for c in containers(stack, "streamlit")}


def _variant(stack, suffix: str, dockerfile_tail: str) -> str:
    """A new streamlit image on top of the deployed one (its name + suffix), pushed to the registry."""
    image = _image(stack)
    new = f"{image}-{suffix}"
    subprocess.run(["docker", "build", "-q", "-t", new, "-"], input=f"FROM {image}\n{dockerfile_tail}\n",
                   text=True, check=True, capture_output=True, timeout=300)
    run(["docker", "push", "-q", new], timeout=600)
    return new


def _update_state(stack) -> str | None:
    """Swarm's state of the streamlit service's last update (updating, completed, rollback_completed...)."""
    return service(stack, "streamlit").get("UpdateStatus", {}).get("State")


def test_rolling_update_under_new_tabs_then_a_broken_image_is_rolled_back(stack):
    name = stack.service("streamlit")
    good = _variant(stack, "v2", "LABEL org.example.fractal-test=v2")
    broken = _variant(stack, "broken", 'CMD ["sleep", "infinity"]')  # runs, never answers its healthcheck
    try:
        with Visitors(stack.https + "/app", stack.ca) as visitors:
            t0 = time.monotonic()
            run(["docker", "service", "update", "--quiet", "--detach", "--image", good, name])
            wait_for(lambda: _update_state(stack) == "completed", timeout=900, interval=2,
                     what="the rolling update to complete")
            t_update = time.monotonic() - t0
            served_during_update = visitors.ok
        assert visitors.failed == [], visitors.failed[:5]
        assert served_during_update >= 5, served_during_update
        assert _image(stack) == good
        # The replaced tasks drain for stop_grace_period (swarm/compose.yaml), then are gone.
        wait_for(lambda: _serving(stack) == {good}, timeout=120, interval=1, what="only the new image serving")

        with Visitors(stack.https + "/app", stack.ca) as visitors:
            t0 = time.monotonic()
            run(["docker", "service", "update", "--quiet", "--detach", "--image", broken, name])
            wait_for(lambda: _update_state(stack) == "rollback_completed",
                     timeout=900, interval=2, what="Swarm to roll the broken image back")
            t_rollback = time.monotonic() - t0
        assert visitors.failed == [], visitors.failed[:5]
        assert _image(stack) == good
        wait_for(lambda: _serving(stack) == {good} and healthy(stack, "streamlit", REPLICAS), timeout=300,
                 interval=1, what="three healthy replicas of the good image")
        print(f"\nrolling update of {REPLICAS} replicas: {t_update:.0f} s, {served_during_update} new tabs served, "
              f"0 failed; broken image rolled back after {t_rollback:.0f} s, {visitors.ok} tabs served meanwhile")
    finally:
        run(["docker", "image", "rm", "-f", good, broken], check=False)
