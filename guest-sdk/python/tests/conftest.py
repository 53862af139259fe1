"""Runs the SDK on the host's CPython, with a fake host behind the generated bindings.

The `wit_world` package is generated here with `componentize-py bindings` (as in a component
build); its import functions are then replaced by the FakeHost's methods.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SDK = HERE.parent  # the directory holding the `stampede` package
WIT = Path(os.environ.get("STAMPEDE_WIT", HERE.parent.parent.parent / "host-api" / "wit"))

_bindings = tempfile.mkdtemp(prefix="stampede-bindings-")
subprocess.run(
    [str(Path(sys.executable).with_name("componentize-py")), "-q", "-d", str(WIT), "-w", "script",
     "bindings", _bindings],
    check=True,
)
sys.path[:0] = [_bindings, str(SDK)]


class FakeResponse:
    """The host's `response` resource: every method call is counted in `host.calls`."""

    def __init__(self, host, status, url, headers, body, timings):
        self._host, self._parts = host, dict(status=status, proto="HTTP/1.1", url=url,
                                              headers=headers, body=body, timings=timings,
                                              error="", error_code=0, cookies=host.cookies)
        self.dropped = False

    def __getattr__(self, part):
        if part not in self._parts:
            raise AttributeError(part)

        def method():
            assert not self.dropped, "used after drop"
            self._host.calls.append(part)
            return self._parts[part]
        return method

    def header(self, name):
        self._host.calls.append("header")
        values = [v for n, v in self._parts["headers"] if n.lower() == name.lower()]
        return ", ".join(values) if values else None

    def __exit__(self, *exc):
        self.dropped = True


class Sent:
    """A request as the host saw it, its extras' fields flat (their defaults when the request
    had none): `req.timeout_ms` whether or not it came in `extras`."""

    def __init__(self, req, http):
        self.raw = req
        self._extras = req.extras or http.RequestExtras(
            timeout_ms=None, tags=[], name=None, max_redirects=None, discard_body=False,
            jar=http.JarChoice_Vu(), cookies=[], compression="", auth=None, http_version=None)

    def __getattr__(self, name):
        if name in ("method", "url", "headers", "body", "extras"):
            return getattr(self.raw, name)
        return getattr(self._extras, name)


class FakeHost:
    """Records what the script asks of the host and answers with canned responses."""

    def __init__(self):
        from wit_world.imports import http

        self.http = http
        self.sent = []           # every wit Request (as `Sent`), in order
        self.calls = []          # response methods called, in order
        self.checks = []         # (name, ok, tags)
        self.metrics = {}        # name -> (id, kind, is_time)
        self.samples = []        # (id, value, tags)
        self.env = {}
        self.setup_data = b""    # what context.setup_data() answers
        self.setup_data_calls = 0
        self.logs = []
        self.groups = []         # "enter:NAME" / "exit"
        self.status = 200
        self.body = b"{}"
        self.headers = [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
        self.cookies = []        # ResponseCookie records the next responses report

    def give_setup_data(self):
        self.setup_data_calls += 1
        return self.setup_data

    def respond(self, req):
        self.sent.append(Sent(req, self.http))
        t = self.http.Timings(0.0, 0.0, 0.0, 0.1, 0.5, 0.2, 0.8)
        return FakeResponse(self, self.status, req.url, list(self.headers), self.body, t)

    def register(self, name, kind, is_time):
        if name not in self.metrics:
            self.metrics[name] = (len(self.metrics), kind, is_time)
        return self.metrics[name][0]


@pytest.fixture
def host(monkeypatch):
    from stampede import _wit

    _wit.go_live()
    h = FakeHost()
    monkeypatch.setattr(_wit.http, "send", h.respond)
    monkeypatch.setattr(_wit.http, "batch", lambda reqs: [h.respond(r) for r in reqs])
    monkeypatch.setattr(_wit.checks, "check", lambda n, ok, tags: h.checks.append((n, ok, tags)) or ok)
    monkeypatch.setattr(_wit.metrics, "register", h.register)
    monkeypatch.setattr(_wit.metrics, "add", lambda i, v, tags: h.samples.append((i, v, tags)))
    monkeypatch.setattr(_wit.context, "env", lambda name: h.env.get(name))
    monkeypatch.setattr(_wit.context, "setup_data", h.give_setup_data)
    monkeypatch.setattr(_wit.context, "log", lambda level, msg: h.logs.append((level.name, msg)))
    monkeypatch.setattr(_wit.context, "group_enter", lambda name: h.groups.append("enter:" + name))
    monkeypatch.setattr(_wit.context, "group_exit", lambda: h.groups.append("exit"))
    return h
