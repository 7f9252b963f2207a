"""The test browser survives the host's Docker creating and removing networks.

Chromium treats an address change on the host as a network change and aborts requests in flight
("Failed to fetch dynamically imported module", a Streamlit page that never shows): that was CI's
recurring dev-stack browser failure while other tests built images or ran Swarm. The browser
fixture preloads a shim that hides the host's address changes (tests/utils/no_netlink.c)."""
from __future__ import annotations

import http.server
import threading
import uuid

import pytest

from utils.commands import free_port, run

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FETCH_LOOP = """async () => { const failed = []; const t0 = Date.now();
  while (Date.now() - t0 < 5000) {
    const rs = await Promise.all([...Array(8).keys()].map(() =>
      fetch('/x' + Math.random(), {cache: 'no-store'}).then(r => r.text()).catch(e => 'FAILED ' + e.message)));
    failed.push(...rs.filter(r => r.startsWith('FAILED')));
  }
  return failed; }"""


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"<html><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")  # every fetch opens a new connection
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_requests_survive_docker_creating_and_removing_networks(browser, python_image):
    """Eight rounds of a page fetching in a loop while a Docker network is created, a container
    attached and the network removed: without the shim 6 fetches failed in 4 rounds on this host, 0 with it."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx = browser.new_context()
    failed = []
    try:
        page = ctx.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        for _ in range(8):
            net = f"fnt-netchange-{uuid.uuid4().hex[:8]}"

            def churn(net=net):
                run(["docker", "network", "create", net])
                try:
                    run(["docker", "run", "--rm", "--network", net, python_image, "true"], timeout=120)
                finally:
                    run(["docker", "network", "rm", net])

            t = threading.Thread(target=churn)
            t.start()
            failed += page.evaluate(FETCH_LOOP)
            t.join()
    finally:
        ctx.close()
        server.shutdown()
    assert failed == [], f"{len(failed)} requests aborted by Docker's network changes: {failed[:3]}"
