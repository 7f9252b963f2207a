"""Run code in a Jupyter kernel through the server's REST + websocket API (as JupyterLab does)."""
from __future__ import annotations

import json
import time
import uuid

import websocket


def execute(base_http: str, token: str, kernel_id: str, code: str, timeout: float = 120.0,
            sslopt: dict | None = None) -> str:
    """Execute ``code`` in kernel ``kernel_id``; return its stdout (raises on an error reply)."""
    ws_url = base_http.replace("https://", "wss://").replace("http://", "ws://")
    ws_url += f"/api/kernels/{kernel_id}/channels?token={token}"
    ws = websocket.create_connection(ws_url, timeout=timeout, sslopt=sslopt)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "e2e", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False},
        }))
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
        raise TimeoutError("kernel did not finish in time")
    finally:
        ws.close()
