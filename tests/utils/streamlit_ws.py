"""A protocol-level Streamlit client: one browser tab's traffic without the browser.

Speaks Streamlit's own websocket protocol, with the protobuf messages that ship in the
installed ``streamlit`` package: connect to ``<base>/_stcore/stream`` (subprotocol
``streamlit``), send ``BackMsg.rerun_script`` with a ``ClientState`` (the page and its widget
states, as the frontend does on load and on every interaction), read ``ForwardMsg``s until
``script_finished``, then fetch every ``/media/`` URL the run referenced (images, GIFs,
downloads) over HTTP, as the browser would.

Used by the load tests (tests/stack/test_load.py, tests/swarm/) and the load benchmarks
(benchmarks/load.py, swarm/benchmark_replicas.py)::

    with StreamlitSession("http://127.0.0.1:8501/app") as s:
        run = s.run_page("mandelbrot")      # first run of the page in this session
        run = s.run_page("mandelbrot")      # a rerun, same inputs
        run.ok, run.seconds, run.signature  # signature: what the user saw, media by content hash
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import websocket
from google.protobuf.message import Message
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class SessionError(RuntimeError):
    """The server closed the session, timed out, or the page raised."""


@dataclass
class Run:
    """One script run of one page as a client received it.

    Attributes
    ----------
    page : str
        The page's URL path (``""`` = the default page).
    seconds : float
        From sending the rerun request to ``script_finished`` plus fetching every media file.
    script_seconds : float
        From the request to ``script_finished`` only.
    ok : bool
        Finished successfully, no exception element, every media file fetched with HTTP 200.
    errors : list of str
        Exception messages shown by the page, media fetch failures, or the finish status.
    signature : str
        SHA-256 over every element the page displayed (in delta-path order), with each media
        URL replaced by the SHA-256 of the bytes it served: equal signatures = the user saw
        the same images, figures, text and widgets.
    media : dict
        Media path -> (HTTP status, bytes, SHA-256 of content).
    retried : list of str
        Media paths whose kept-alive connection closed without a response, fetched again once
        on a new connection (what a browser does); a second failure is an error.
    shown : list of Element
        Every element the page displayed (Streamlit's ``Element`` protobuf messages), in
        delta-path order: ``el.markdown.body``, ``el.file_uploader.max_upload_size_mb``, ...
    """

    page: str
    seconds: float = 0.0
    script_seconds: float = 0.0
    ok: bool = False
    errors: list[str] = field(default_factory=list)
    signature: str = ""
    media: dict = field(default_factory=dict)
    retried: list = field(default_factory=list)
    elements: int = 0
    shown: list = field(default_factory=list)

    @property
    def pictures(self) -> int:
        """Images the page showed: media files fetched, and images inside Plotly figures (data
        URIs, as the Mandelbrot explorer's picture, which is a figure so that it can be clicked)."""
        return len(self.media) + sum(
            1 for el in self.shown if el.WhichOneof("type") == "plotly_chart"
            for trace in json.loads(el.plotly_chart.spec).get("data", [])
            if trace.get("type") == "image" and str(trace.get("source", "")).startswith("data:image/"))


def _media_urls(msg: Message, out: list[str]) -> None:
    """Every string field (recursively) that is a ``/media/`` URL."""
    for fd, value in msg.ListFields():
        values = value if fd.is_repeated else [value]
        for v in values:
            if fd.type == fd.TYPE_MESSAGE:
                _media_urls(v, out)
            elif fd.type == fd.TYPE_STRING and "/media/" in v:
                out.append(v)


class StreamlitSession:
    """One websocket session with a Streamlit server.

    Parameters
    ----------
    base_url : str
        ``http://host:port`` plus the server's base path, e.g. ``http://127.0.0.1:8501/app``.
    timeout : float
        Seconds to wait for any one message (also for the whole media fetch of one URL).
    verify : bool or str
        TLS verification for ``https`` URLs: True (the system's CAs), False, or the path of a
        PEM certificate to trust (a proxy's self-signed one).

    Raises
    ------
    SessionError
        On connection failure, a closed socket, or a timeout while waiting for a run.
    """

    def __init__(self, base_url: str, timeout: float = 300.0, verify: bool | str = True):
        self.base_url = base_url.rstrip("/")
        u = urlsplit(self.base_url)
        scheme = "wss" if u.scheme == "https" else "ws"
        self.ws_url = f"{scheme}://{u.netloc}{u.path}/_stcore/stream"
        self.origin = f"{u.scheme}://{u.netloc}"
        self.timeout = timeout
        self.http = requests.Session()
        self.verify = verify  # per request: a session-wide setting loses to REQUESTS_CA_BUNDLE
        self.sslopt = {"ca_certs": verify} if isinstance(verify, str) else {} if verify else {"cert_reqs": 0}
        self.ws: websocket.WebSocket | None = None
        self.session_id = ""
        #: user key -> (widget id, element type) of the keyed widgets seen (sliders, number
        #: inputs, radios, file uploaders)
        self.widgets: dict[str, tuple[str, str]] = {}
        #: HTTP status of every request this tab made, in order: (method, path, status)
        self.requests: list[tuple[str, str, int | None]] = []

    def __enter__(self) -> "StreamlitSession":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        """Load the page and open its websocket, as a tab does.

        The tab first GETs the page, ``_stcore/host-config`` and ``_stcore/health`` (which sets
        Streamlit's XSRF cookie); every cookie the server or a balancer set is sent with the websocket handshake,
        the media fetches and the uploads.
        """
        for path in ("/", "/_stcore/host-config", "/_stcore/health"):
            try:
                r = self.http.get(self.base_url + path, timeout=self.timeout, verify=self.verify)
                self.requests.append(("GET", path, r.status_code))
            except requests.RequestException as exc:
                raise SessionError(f"GET {self.base_url + path} failed: {exc!r}") from exc
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        try:
            self.ws = websocket.create_connection(self.ws_url, timeout=self.timeout, subprotocols=["streamlit"],
                                                 origin=self.origin, cookie=cookie or None, sslopt=self.sslopt)
        except Exception as exc:
            raise SessionError(f"websocket connect to {self.ws_url} failed: {exc!r}") from exc

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            finally:
                self.ws = None
        self.http.close()

    def _send_rerun(self, page: str, query_string: str, widgets: dict | None = None) -> None:
        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = query_string
        for key, value in (widgets or {}).items():
            if key not in self.widgets:
                raise SessionError(f"no keyed widget {key!r} seen on this page yet")
            wid, kind = self.widgets[key]
            state = cs.widget_states.widgets.add()
            state.id = wid
            if kind == "slider":            # the frontend sends a slider's value as a list
                state.double_array_value.data.append(float(value))
            elif kind == "radio":           # the chosen option's label
                state.string_value = value
            elif kind == "file_uploader":   # UploadedFileInfo messages from upload()
                state.file_uploader_state_value.uploaded_file_info.extend(value)
            elif isinstance(value, int):
                state.int_value = value
            else:
                state.double_value = float(value)
        cs.page_name = page
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.base_url}/{page}"
        self.ws.send_binary(back.SerializeToString())

    def _recv(self, deadline: float) -> ForwardMsg:
        # Short socket timeouts, re-armed until the deadline: the server's pings are answered
        # inside recv() and would otherwise restart a single long timeout forever.
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SessionError(f"no message for {self.timeout} s")
            self.ws.settimeout(min(remaining, 5.0))
            try:
                raw = self.ws.recv()
                break
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as exc:
                raise SessionError(f"websocket closed: {exc!r}") from exc
        if not raw:
            raise SessionError("websocket closed by the server")
        msg = ForwardMsg()
        msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
        return msg

    def upload(self, key: str, name: str, data: bytes, mime: str = "application/octet-stream") -> list:
        """Upload one file to the file uploader with user key ``key``, as the frontend does.

        Asks the server for the file's URLs over the websocket (``file_urls_request``), PUTs
        the file there (multipart, with the XSRF header), and returns the widget's new state
        for :meth:`run_page`: ``run_page(page, widgets={key: session.upload(key, ...)})``.

        Returns
        -------
        list of UploadedFileInfo
            The uploader's state after the upload.

        Raises
        ------
        SessionError
            If the uploader was not shown yet, the server refuses the URLs, or the PUT does
            not answer 204 (e.g. 400 "Invalid session_id" from a replica that does not have
            this session).
        """
        if key not in self.widgets or self.widgets[key][1] != "file_uploader":
            raise SessionError(f"no file uploader {key!r} seen on this page yet")
        back = BackMsg()
        req = back.file_urls_request
        req.request_id = uuid.uuid4().hex
        req.file_names.append(name)
        req.session_id = self.session_id
        self.ws.send_binary(back.SerializeToString())
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == req.request_id:
                break
        resp = msg.file_urls_response
        if resp.error_msg or not resp.file_urls:
            raise SessionError(f"the server gave no upload URL: {resp.error_msg!r}")
        urls = resp.file_urls[0]
        u = urlsplit(self.base_url)
        target = urls.upload_url if urls.upload_url.startswith("http") else self.base_url + urls.upload_url
        try:
            r = self.http.put(target, files={"file": (name, data, mime)}, timeout=self.timeout, verify=self.verify,
                              headers={"X-Xsrftoken": self.http.cookies.get("_streamlit_xsrf", "")})
        except requests.RequestException as exc:
            self.requests.append(("PUT", urls.upload_url, None))
            raise SessionError(f"PUT {u.path}{urls.upload_url} failed: {exc!r}") from exc
        self.requests.append(("PUT", urls.upload_url, r.status_code))
        if r.status_code != 204:
            raise SessionError(f"PUT {urls.upload_url} -> {r.status_code}: {r.text[:200]}")
        return [UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls)]

    def run_page(self, page: str = "", query_string: str = "", widgets: dict | None = None) -> Run:
        """Request a run of ``page`` (its URL path), wait for it, fetch its media.

        ``widgets`` maps the user keys of widgets that an earlier run of this session
        displayed to the values to send, as the frontend does after an edit: a number for a
        slider or number input, an option's label for a radio, :meth:`upload`'s result for a
        file uploader.

        Returns
        -------
        Run
            Timings, success, errors and the content signature of the run.
        """
        if self.ws is None:
            self.connect()
        t0 = time.perf_counter()
        self._send_rerun(page, query_string, widgets)
        return self._collect(Run(page), t0)

    def next_run(self, page: str = "") -> Run:
        """Wait for a run the server starts by itself (``runOnSave`` after a source edit)."""
        return self._collect(Run(page), time.perf_counter())

    def _collect(self, run: Run, t0: float) -> Run:
        page = run.page
        elements: dict[tuple[int, ...], bytes] = {}
        shown: dict[tuple[int, ...], object] = {}
        urls: list[str] = []
        status = None
        while status is None:
            msg = self._recv(time.monotonic() + self.timeout)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id or self.session_id
            elif kind == "delta":
                path = tuple(msg.metadata.delta_path)
                d = msg.delta
                if d.WhichOneof("type") == "new_element" and d.new_element.WhichOneof("type") == "exception":
                    e = d.new_element.exception
                    run.errors.append(f"{e.type}: {e.message}")
                el = d.new_element if d.WhichOneof("type") == "new_element" else None
                el_type = el.WhichOneof("type") if el is not None else None
                if el_type in ("slider", "number_input", "radio", "file_uploader") and \
                        getattr(el, el_type).id.startswith("$$ID-"):
                    wid = getattr(el, el_type).id  # "$$ID-<hash>-<user key>"
                    self.widgets[wid.split("-", 2)[2]] = (wid, el_type)
                found: list[str] = []
                _media_urls(d, found)
                urls += found
                elements[path] = d.SerializeToString(deterministic=True)
                if el is not None:
                    shown[path] = el
            elif kind == "session_event" and msg.session_event.WhichOneof("type") in (
                    "script_compilation_exception", "script_changed_on_disk"):
                run.errors.append(f"session event {msg.session_event.WhichOneof('type')}")
            elif kind == "page_not_found":
                run.errors.append(f"page not found: {page!r}")
            elif kind == "script_finished":
                status = msg.script_finished
        run.script_seconds = time.perf_counter() - t0
        if status not in FINISHED_OK:
            run.errors.append(f"script finished with status {ForwardMsg.ScriptFinishedStatus.Name(status)}")
        u = urlsplit(self.base_url)
        for url in dict.fromkeys(urls):
            full = url if url.startswith("http") else f"{u.scheme}://{u.netloc}{u.path}{url}"
            try:
                try:
                    r = self.http.get(full, timeout=self.timeout, verify=self.verify)
                except requests.ConnectionError:
                    # A kept-alive connection closed before any response byte: a browser retries
                    # such an idempotent GET once on a new connection, and so does this client.
                    run.retried.append(url)
                    r = self.http.get(full, timeout=self.timeout, verify=self.verify, headers={"Connection": "close"})
                digest = hashlib.sha256(r.content).hexdigest()
                run.media[url] = (r.status_code, len(r.content), digest)
                self.requests.append(("GET", url, r.status_code))
                if r.status_code != 200:
                    run.errors.append(f"GET {url} -> {r.status_code}")
            except requests.RequestException as exc:
                run.media[url] = (None, 0, "")
                run.errors.append(f"GET {url} failed: {exc!r}")
        run.seconds = time.perf_counter() - t0
        sig = hashlib.sha256()
        for path in sorted(elements):
            blob = elements[path]
            for url, (_, _, digest) in run.media.items():
                blob = blob.replace(url.encode(), digest.encode())
            sig.update(repr(path).encode() + b"\0" + blob + b"\0")
        run.signature = sig.hexdigest()
        run.elements = len(elements)
        run.shown = [shown[p] for p in sorted(shown)]
        run.ok = not run.errors
        return run


def concurrent_sessions(base_url: str, page: str, sessions: int, reruns: int = 1,
                        timeout: float = 300.0, widgets=None) -> list[list[Run] | BaseException]:
    """Open ``sessions`` sessions at once; each runs ``page`` and then reruns it ``reruns`` times.

    ``widgets``, if given, is called with the session's index and returns the widget values
    (by user key) that session sends with its reruns, like a student who moved the sliders.

    All sessions connect first and then request their first run together (a barrier), like a
    class opening the same page at the same moment.

    Returns
    -------
    list
        Per session, its runs in order (first run, then reruns), or the exception that ended
        it (:class:`SessionError` for a lost or timed-out session).
    """
    import threading

    barrier = threading.Barrier(sessions)
    results: list = [None] * sessions

    def one(i):
        try:
            with StreamlitSession(base_url, timeout=timeout) as s:
                try:
                    barrier.wait(timeout=timeout)
                except threading.BrokenBarrierError:
                    pass  # another session failed to connect: carry on, it is reported itself
                runs = [s.run_page(page)]
                runs += [s.run_page(page, widgets=widgets(i) if widgets else None) for _ in range(reruns)]
                results[i] = runs
        except BaseException as exc:  # noqa: BLE001 - reported per session
            barrier.abort()
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
