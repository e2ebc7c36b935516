"""A user of the class hub, through its REST APIs only (what the tests and the benchmark use).

:class:`HubUser` logs in with a user name and password (JupyterHub's token API checks them with
the hub's authenticator), starts the user's server through the hub, and then calls that server
through the hub's proxy: nbgrader's assignment list (fetch, submit, fetch feedback), Jupyter's
contents API (read and write notebooks), and a kernel (run code and get its output).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import requests


class HubClientError(RuntimeError):
    """The hub or the user's server answered with an error."""


@dataclass
class HubUser:
    """One user of the hub at ``url`` (``http://127.0.0.1:PORT``)."""

    url: str
    name: str
    password: str
    token: str = ""
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def login(self) -> "HubUser":
        """Get an API token for this user with its password."""
        response = self.session.post(
            f"{self.url}/hub/api/users/{self.name}/tokens",
            json={"auth": {"username": self.name, "password": self.password},
                  "note": "hubclient", "expires_in": 3600}, timeout=60)
        _check(response, f"log in as {self.name}")
        self.token = response.json()["token"]
        self.session.headers["Authorization"] = f"token {self.token}"
        return self

    def hub(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's API (``/hub/api`` + ``path``)."""
        return self.session.request(method, f"{self.url}/hub/api{path}", timeout=60, **kwargs)

    def model(self) -> dict:
        response = self.hub("GET", f"/users/{self.name}")
        _check(response, f"read {self.name}'s model")
        return response.json()

    def request_server(self) -> None:
        """Ask the hub to start this user's server (do not wait for it)."""
        response = self.hub("POST", f"/users/{self.name}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running or starting
            _check(response, f"start {self.name}'s server")

    def start_server(self, timeout: float = 180) -> str:
        """Start this user's server through the hub and wait until it is ready.

        Returns
        -------
        url : str
            The server's prefix on the hub (``/user/<name>/``).
        """
        self.request_server()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.model().get("servers", {}).get("", {})
            if server.get("ready"):
                return server["url"]
            time.sleep(0.5)
        raise HubClientError(f"{self.name}'s server was not ready after {timeout} s")

    def stop_server(self, timeout: float = 60) -> None:
        response = self.hub("DELETE", f"/users/{self.name}/server")
        if response.status_code not in (202, 204, 400):
            _check(response, f"stop {self.name}'s server")
        deadline = time.monotonic() + timeout
        while self.model().get("servers") and time.monotonic() < deadline:
            time.sleep(0.5)

    def server(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call this user's server through the hub's proxy (``/user/<name>`` + ``path``)."""
        kwargs.setdefault("timeout", 300)
        return self.session.request(method, f"{self.url}/user/{self.name}{path}", **kwargs)

    # --- nbgrader's Assignments tab -----------------------------------------------------------
    def assignments(self, course_id: str) -> list[dict]:
        """What the Assignments tab lists: released, fetched, submitted, with feedback."""
        response = self.server("GET", "/assignments", params={"course_id": course_id})
        return _success(response, "list the assignments")

    def assignment_action(self, action: str, course_id: str, assignment: str) -> list[dict]:
        """``fetch``, ``submit`` or ``fetch_feedback``, as the tab's buttons do."""
        response = self.server("POST", f"/assignments/{action}",
                               json={"course_id": course_id, "assignment_id": assignment})
        data = response.json() if response.ok else None
        if isinstance(data, dict) and not data.get("success", True):
            raise HubClientError(f"{action} {assignment} as {self.name}: {data.get('value')}")
        return _success(response, f"{action} {assignment}")

    # --- Jupyter's contents API ---------------------------------------------------------------
    def read(self, path: str) -> dict:
        """A file's model (``content`` is a notebook dict or text)."""
        response = self.server("GET", f"/api/contents/{path}", params={"content": "1"})
        _check(response, f"read {path} as {self.name}")
        return response.json()

    def write_notebook(self, path: str, notebook: dict) -> None:
        response = self.server("PUT", f"/api/contents/{path}",
                               json={"type": "notebook", "format": "json", "content": notebook})
        _check(response, f"write {path} as {self.name}")

    # --- a kernel -----------------------------------------------------------------------------
    def run_code(self, code: str, timeout: float = 120) -> str:
        """Run ``code`` in a new kernel of this user's server; return its output text."""
        return self.run_cells([code], timeout)[0]

    def run_cells(self, sources: list[str], timeout: float = 600) -> list[str]:
        """Run code cells one after the other in one new kernel of this user's server.

        The kernel is started through the server's API, each cell sent over the kernel's
        websocket as JupyterLab sends it, and the kernel shut down afterwards. A cell that
        raises stops the run with :class:`HubClientError` (its name and value).

        Returns
        -------
        outputs : list of str
            The text each cell printed or displayed.
        """
        import websocket  # websocket-client, a dependency of jupyter_server

        response = self.server("POST", "/api/kernels", json={"name": "python3"})
        _check(response, f"start a kernel as {self.name}")
        kernel = response.json()["id"]
        ws_url = self.url.replace("http", "ws", 1) + f"/user/{self.name}/api/kernels/{kernel}/channels"
        deadline = time.monotonic() + timeout
        sock = websocket.create_connection(ws_url, timeout=timeout,
                                           header=[f"Authorization: token {self.token}"])
        try:
            return [_execute(sock, code, self.name, deadline) for code in sources]
        finally:
            sock.close()
            self.server("DELETE", f"/api/kernels/{kernel}")


def _execute(sock, code: str, user: str, deadline: float) -> str:
    msg_id = uuid.uuid4().hex
    sock.send(json.dumps({
        "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    out, error = [], None
    while time.monotonic() < deadline:
        msg = json.loads(sock.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            out.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind == "status" and content["execution_state"] == "idle":
            if error:
                raise HubClientError(f"the code failed in {user}'s kernel: {error}")
            return "".join(out)
    raise HubClientError(f"the code did not finish in {user}'s kernel in time")


def _check(response: requests.Response, what: str) -> None:
    if not response.ok:
        raise HubClientError(f"{what}: HTTP {response.status_code} {response.text[:500]}")


def _success(response: requests.Response, what: str) -> list[dict]:
    _check(response, what)
    data = response.json()
    if isinstance(data, dict) and "success" in data:
        if not data["success"]:
            raise HubClientError(f"{what}: {data.get('value')}")
        return data["value"]
    return data
