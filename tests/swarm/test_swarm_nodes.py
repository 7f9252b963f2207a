"""End-to-end: the production stack on a Docker Swarm of three nodes (swarm/deploy-swarm.sh).

Three real Docker engines on this host, each in its own network namespace with its own data
root, joined over a LAN that exists only inside namespaces (tests/swarm/swarm_nodes.py): a
manager and two workers. The release that scripts/publish.sh pushed (conftest.py here,
``swarm_release``) is served to them by a registry on that LAN; each node pulls what its tasks
need. Visitors are protocol-level tabs opened from inside the LAN, through the proxy on the
manager, as a browser on the same network would.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from utils.commands import run, wait_for
from utils.netns import hosts
from utils.registry import Registry
from utils.tls import self_signed

from swarm_nodes import SwarmNodes  # tests/swarm/swarm_nodes.py
from tabs import Visitors, png, refused, tabs, upload_tab  # tests/swarm/tabs.py

pytestmark = [pytest.mark.e2e, pytest.mark.root]

NODES = 3
REPLICAS = 3  # swarm_release's STREAMLIT_REPLICAS
#: The name visitors browse to: the manager's address (tests/utils/netns.py, ``hosts``).
SITE = "gallery.test"


class Cluster(SwarmNodes):
    """The nodes with the stack deployed: ``app``, the gallery's address for visitors; ``ca``, the
    certificate that address is verified against; ``service``, a service's name in the stack."""

    ca: str = ""
    app: str = ""
    service: Callable[[str], str]


@pytest.fixture(scope="module")
def cluster(swarm_release):
    p = swarm_release
    assert p.env["STREAMLIT_REPLICAS"] == str(REPLICAS)
    t0 = time.monotonic()
    with Cluster(NODES) as nodes:
        t_nodes = time.monotonic() - t0
        with Registry(host=nodes.registry, storage=p.registry_storage, netns=nodes.lan):
            tls = p.dir / "certs" / "proxy-nodes"  # for the name visitors use
            nodes.ca = self_signed(tls, (f"DNS:{SITE}",))
            nodes.app = f"https://{SITE}:{p.env['PROXY_HTTPS_PORT']}/app"
            nodes.service = p.service
            # As on a server: the name visitors use is allowed (ALLOWED_HOSTS), the rest are refused.
            env = {**p.deploy_env, "DOCKER_HOST": nodes.manager.host, "PROXY_TLS_DIR": str(tls),
                   "ALLOWED_HOSTS": SITE, "REGISTRY": f"{nodes.registry}/fractal-{p.name}"}
            t1 = time.monotonic()
            out = run(["bash", "swarm/deploy-swarm.sh"], cwd=p.dir, env=env, check=False, timeout=1500)
            assert out.returncode == 0, (out.stdout, out.stderr, nodes.manager.docker(
                "stack", "ps", "--no-trunc", p.name, check=False).stdout)
            print(f"\n{NODES} engines up and joined in {t_nodes:.0f} s; deploy-swarm.sh (each node pulling its "
                  f"images) {time.monotonic() - t1:.0f} s\n{out.stdout}")
            with hosts({SITE: nodes.manager.addr}):
                yield nodes


def running_tasks(nodes, name: str) -> list[dict]:
    """The tasks of a service that Swarm has running (healthy: a task with a healthcheck is
    "running" only once healthy), as the manager sees them."""
    ids = nodes.manager.docker("service", "ps", "-q", "--filter", "desired-state=running",
                               nodes.service(name)).stdout.split()
    found = json.loads(nodes.manager.docker("inspect", *ids).stdout) if ids else []
    return [t for t in found if t["Status"]["State"] == "running"]


def placement(nodes, name: str) -> list[str]:
    """The hostnames of the nodes running a service's tasks, one entry per task."""
    hostnames = nodes.node_ids()
    return sorted(hostnames[t["NodeID"]] for t in running_tasks(nodes, name))


def test_the_stack_spans_three_nodes_and_tabs_cross_them(cluster):
    every = {n.hostname for n in cluster.nodes}
    where = {name: placement(cluster, name) for name in ("streamlit", "balancer", "docs", "jupyter", "proxy")}
    print(f"\nplacement: {where}")
    assert len(where["streamlit"]) == REPLICAS, where
    assert where["proxy"] == where["balancer"] == where["jupyter"] == [cluster.manager.hostname], where
    assert len(set(where["streamlit"])) >= 2, where  # spread out
    assert set().union(*map(set, where.values())) == every, where
    for w in cluster.workers:  # each worker pulled its images from the registry on the LAN
        pulled = w.docker("image", "ls", "--format", "{{.Repository}}").stdout.split()
        assert pulled and all(r.startswith(cluster.registry + "/") for r in pulled), (w.hostname, pulled)

    # Tabs through the proxy on the manager reach Streamlit tasks on every node (overlay network),
    # and each keeps its task for its media and its upload.
    image = png()
    results = tabs(3 * REPLICAS, lambda: upload_tab(cluster.app, cluster.ca, image), netns=cluster.lan.path)
    assert refused(results) == []
    assert [r["errors"] for r in results if r["errors"]] == []
    assert all(r["analysed"] and r["media"] >= 4 for r in results)
    assert len({r["replica"] for r in results}) == REPLICAS, [r["replica"] for r in results]


def test_a_lost_worker_is_replaced_elsewhere_and_the_gallery_keeps_answering(cluster):
    before = {name: placement(cluster, name) for name in ("streamlit", "balancer")}
    # The worker with the most Streamlit tasks goes.
    lost = max(cluster.workers, key=lambda w: before["streamlit"].count(w.hostname))
    assert lost.hostname in before["streamlit"], before
    lost_id = next(i for i, h in cluster.node_ids().items() if h == lost.hostname)
    with Visitors(cluster.app, cluster.ca, netns=cluster.lan.path) as visitors:
        wait_for(lambda: visitors.ok >= 4, timeout=120, interval=0.5, what="tabs before the node loss")
        served_before = visitors.ok
        t0 = time.monotonic()
        lost.stop()
        wait_for(lambda: cluster.manager.docker("node", "inspect", "--format", "{{.Status.State}}",
                                                lost_id).stdout.strip() == "down",
                 timeout=120, interval=1, what="the manager to see the node down")
        t_down = time.monotonic() - t0

        def rescheduled():
            now = {name: placement(cluster, name) for name in before}
            return (len(now["streamlit"]) == REPLICAS and len(now["balancer"]) == 1
                    and lost.hostname not in now["streamlit"] and now)
        after = wait_for(rescheduled, timeout=600, interval=1, what="the lost node's tasks running elsewhere")
        t_rescheduled = time.monotonic() - t0
        served_at = visitors.ok
        wait_for(lambda: visitors.ok >= served_at + 4, timeout=120, interval=0.5, what="tabs after the reschedule")
    print(f"\nnode {lost.hostname} stopped: seen down after {t_down:.0f} s; its tasks running (healthy) elsewhere "
          f"after {t_rescheduled:.0f} s; {before} -> {after}; tabs served: {served_before} before, "
          f"{visitors.ok - served_before} from the loss on; failed: {visitors.failed}")
    assert visitors.failed == [], visitors.failed
    results = tabs(REPLICAS, lambda: upload_tab(cluster.app, cluster.ca, png()), netns=cluster.lan.path)
    assert refused(results) == [] and all(r["analysed"] for r in results), results
