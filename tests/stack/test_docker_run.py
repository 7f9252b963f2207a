"""End-to-end: the streamlit image's documented plain `docker run` uses (docs/docker-run.md).

Each command is run as documented, with the test's image name and a free loopback port in
place of ``-p 8501:8501``: the gallery from the image alone; the checkout mounted at /app
(the checkout's own apps and fractalkit, live reload); only apps/ and docs/ mounted, with
Streamlit's own settings as ``-e`` knobs; a shell as the non-root user.
"""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
import uuid

import pytest
import requests

from utils.commands import free_port, run, wait_for
from utils.project import project
from utils.streamlit_ws import StreamlitSession

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def image(docker_engine, python_image, scratch):
    """The dev streamlit image and the scratch checkout it was built from."""
    with project(scratch, python_image, "run") as p:
        p.compose("build", "streamlit", timeout=2400)
        yield p, f"{p.env['IMAGE_REPO']}/streamlit:{p.env['IMAGE_TAG']}"


class Served:
    """A `docker run -d` of the image, removed on exit."""

    def __init__(self, image: str, *args: str):
        self.port = free_port()
        self.name = f"fnt-run-{uuid.uuid4().hex[:8]}"
        self.url = f"http://127.0.0.1:{self.port}"
        run(["docker", "run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8501", *args, image])

    def __enter__(self) -> "Served":
        try:
            wait_for(lambda: requests.get(self.url + "/_stcore/health", timeout=5).text == "ok",
                     timeout=180, what=f"{self.name} healthy")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if exc and exc[0] is not None:
            print(run(["docker", "logs", self.name], check=False).stderr[-3000:])
        run(["docker", "rm", "-f", "-v", self.name], check=False)

    def logs(self) -> str:
        out = run(["docker", "logs", self.name])
        return out.stdout + out.stderr


def _headings(r) -> list[str]:
    return [el.heading.body for el in r.shown if el.WhichOneof("type") == "heading"]


def _texts(r) -> str:
    return "\n".join(el.markdown.body for el in r.shown if el.WhichOneof("type") == "markdown")


def test_the_image_alone_serves_the_gallery(image):
    _, img = image
    with Served(img) as s, StreamlitSession(s.url) as sess:
        home = sess.run_page("")
        assert home.ok, home.errors
        assert "Branching tree" in _headings(home)
        mandel = sess.run_page("mandelbrot")
        assert mandel.ok and mandel.pictures, mandel.errors


def test_streamlit_app_picks_the_home_page_and_an_unknown_one_stops_the_start(image):
    _, img = image
    with Served(img, "-e", "STREAMLIT_APP=julia.py") as s, StreamlitSession(s.url) as sess:
        home = sess.run_page("")
        assert home.ok and "Julia sets" in _headings(home), (_headings(home), home.errors)
        tree = sess.run_page("branching_tree")  # the navigation is kept
        assert tree.ok and "Branching tree" in _headings(tree), (_headings(tree), tree.errors)
    for bad in ("nope.py", "julia", "../src/fractalkit/__init__.py"):
        out = run(["docker", "run", "--rm", "-e", f"STREAMLIT_APP={bad}", img], check=False, timeout=120)
        assert out.returncode == 64, (out.returncode, out.stderr[-2000:])
        assert f"STREAMLIT_APP={bad} is not a page under /app/apps" in out.stderr and "mandelbrot.py" in out.stderr, \
            out.stderr[-2000:]
        assert ("did you mean STREAMLIT_APP=julia.py?" in out.stderr) == (bad == "julia"), out.stderr[-2000:]


def test_an_unknown_file_watcher_stops_the_start(image):
    """Streamlit takes any fileWatcherType and watches nothing for one it does not know: live
    edits would stop without a word. start-streamlit refuses it instead."""
    _, img = image
    for bad in ("polling", "Poll", " "):
        out = run(["docker", "run", "--rm", "-e", f"STREAMLIT_SERVER_FILE_WATCHER_TYPE={bad}", img],
                  check=False, timeout=120)
        assert out.returncode == 64, (bad, out.returncode, out.stderr[-2000:])
        shown = bad if bad.isalpha() else repr(bad)
        assert f"STREAMLIT_SERVER_FILE_WATCHER_TYPE={shown} must be auto, watchdog, poll or none" in out.stderr, \
            out.stderr[-2000:]
    # Both settings wrong: both are reported at once.
    out = run(["docker", "run", "--rm", "-e", "STREAMLIT_SERVER_FILE_WATCHER_TYPE=polling", "-e", "STREAMLIT_APP=nope.py",
               img], check=False, timeout=120)
    assert out.returncode == 64 and "=polling must" in out.stderr and "STREAMLIT_APP=nope.py is not" in out.stderr, \
        out.stderr[-2000:]


def test_the_checkout_mounted_at_app_is_served_with_live_reload(image):
    p, img = image
    app = p.dir / "apps" / "branching_tree.py"
    kernel = p.dir / "src" / "fractalkit" / "__init__.py"
    app_src, kernel_src = app.read_text(), kernel.read_text()
    assert 'st.title("Branching tree")' in app_src
    try:
        app.write_text(app_src.replace('st.title("Branching tree")', 'st.title("From the checkout")'))
        with Served(img, "-v", f"{p.dir}:/app") as s, StreamlitSession(s.url) as sess:
            first = sess.run_page("")
            assert first.ok, first.errors
            assert "From the checkout" in _headings(first)
            # runOnSave: the open session re-runs by itself after an edit of the page ...
            app.write_text(app_src.replace('st.title("Branching tree")', 'st.title("Edited live")'))
            again = sess.next_run("")
            assert "Edited live" in _headings(again), _headings(again)
            # ... and after an edit of fractalkit alone, whose new code it imports: Streamlit
            # watches the package because the image sets PYTHONPATH=/app/src.
            app.write_text(app_src.replace('st.title("Branching tree")',
                                           'st.title(__import__("fractalkit").__dict__.get("MARK", "no mark"))'))
            assert "no mark" in _headings(sess.next_run("")), "the page did not re-run"
            kernel.write_text(kernel_src + "\nMARK = 'kernel edited'\n")
            third = sess.next_run("")
            assert "kernel edited" in _headings(third), (_headings(third), third.errors)
    finally:
        app.write_text(app_src)
        kernel.write_text(kernel_src)


KNOBS = '''import streamlit as st
st.markdown(f"upload={st.get_option('server.maxUploadSize')} "
            f"message={st.get_option('server.maxMessageSize')} "
            f"level={st.get_option('logger.level')} version=VERSION")
'''


def test_apps_and_docs_mounted_with_streamlit_settings_as_knobs(image, tmp_path):
    _, img = image
    apps, docs = tmp_path / "apps", tmp_path / "docs"
    apps.mkdir()
    docs.mkdir()
    (docs / "index.md").write_text("# Mine\n")
    page = apps / "knobs.py"
    page.write_text(KNOBS.replace("VERSION", "1"))
    for d in (tmp_path, apps, docs, page, docs / "index.md"):
        os.chmod(d, 0o755 if d.is_dir() else 0o644)
    with Served(img, "-v", f"{apps}:/app/apps", "-v", f"{docs}:/app/docs",
                "-e", "STREAMLIT_APP=knobs.py", "-e", "STREAMLIT_SERVER_MAX_UPLOAD_SIZE=3",
                "-e", "STREAMLIT_SERVER_MAX_MESSAGE_SIZE=64", "-e", "STREAMLIT_LOGGER_LEVEL=debug") as s, \
            StreamlitSession(s.url) as sess:
        first = sess.run_page("")
        assert first.ok, first.errors
        assert "upload=3 message=64 level=debug version=1" in _texts(first)
        page.write_text(KNOBS.replace("VERSION", "2"))
        assert "version=2" in _texts(sess.next_run(""))
        assert "Beginning script thread" in s.logs(), s.logs()[-2000:]  # a DEBUG-level message
        # The image sees the mounted docs/ too.
        out = run(["docker", "exec", s.name, "cat", "/app/docs/index.md"]).stdout
        assert out == "# Mine\n"


def test_sigwinch_drains_and_sigterm_stops(image):
    """The start script (services/streamlit/start.sh) as Swarm and Compose signal it.

    SIGWINCH, Swarm's stop signal: the readiness file the balancer checks is gone (404), and
    Streamlit keeps serving. SIGTERM, `docker stop`: Streamlit shuts down on it, not on the
    SIGKILL that follows the stop timeout (exit code 137).
    """
    _, img = image
    with Served(img, "-e", "STREAMLIT_SERVER_ENABLE_STATIC_SERVING=true") as s:
        ready = s.url + "/app/static/ready"
        assert requests.get(ready, timeout=10).text == "ok\n"
        run(["docker", "kill", "--signal", "WINCH", s.name])
        wait_for(lambda: requests.get(ready, timeout=10).status_code == 404, timeout=60, what="the readiness file gone")
        with StreamlitSession(s.url) as sess:  # still serving, to the tabs pinned to it
            home = sess.run_page("")
            assert home.ok and home.media, home.errors
        assert requests.get(s.url + "/_stcore/health", timeout=10).text == "ok"
        run(["docker", "stop", "--time", "120", s.name], timeout=180)
        state = json.loads(run(["docker", "inspect", "--format", "{{json .State}}", s.name]).stdout)
        assert state["ExitCode"] != 137 and not state["OOMKilled"], state
        assert "Stopping..." in s.logs(), s.logs()[-2000:]


def _tty(cmd: list[str], typed: str, timeout: float = 120.0) -> str:
    """Run ``cmd`` on a pseudo-terminal (what `-it` needs), type ``typed``; return the screen."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out, deadline, sent = b"", time.monotonic() + timeout, False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                out += chunk
                if not sent and b"$ " in out:  # bash's prompt
                    os.write(master, typed.encode())
                    sent = True
            elif proc.poll() is not None:
                break
        else:
            raise AssertionError(f"{' '.join(cmd)} did not finish:\n{out.decode(errors='replace')[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    # What a terminal would show: without colour/title escapes and carriage returns.
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", out.decode(errors="replace")).replace("\r", "")


def test_a_shell_as_the_non_root_user(image):
    _, img = image
    screen = _tty(["docker", "run", "-it", "--rm", "--entrypoint=/bin/bash", img],
                  'echo "who=$(id -un):$(id -u) at=$PWD"; python -c "import fractalkit"; echo "import=$?"; exit\n')
    assert re.search(r"^who=app:1000 at=/app\r?$", screen, re.M), screen
    assert re.search(r"^import=0\r?$", screen, re.M), screen
