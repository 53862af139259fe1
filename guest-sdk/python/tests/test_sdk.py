"""Unit tests of the Python SDK against a fake host (see conftest.py)."""

import importlib
import json
import types

import pytest


def test_get_maps_every_parameter(host):
    from stampede import http

    http.get("http://x/a", headers={"Accept": "text/plain"}, tags={"page": "a"}, timeout="1.5s",
             name="page a", redirects=0, discard_body=True)
    (req,) = host.sent
    assert (req.method, req.url, req.body) == ("GET", "http://x/a", b"")
    assert req.headers == [("Accept", "text/plain")]
    assert req.tags == [("page", "a")]
    assert (req.timeout_ms, req.name, req.max_redirects, req.discard_body) == (1500, "page a", 0, True)
    assert req.http_version is None
    http.get("http://x/b", http_version=2)
    assert host.sent[-1].http_version == "2"


def test_defaults_are_none(host):
    from stampede import http

    http.request("purge", "http://x/")
    (req,) = host.sent
    assert req.method == "PURGE"
    assert (req.timeout_ms, req.name, req.max_redirects, req.discard_body) == (None, None, None, False)
    assert req.extras is None  # a plain request hands over no extras


def test_a_request_that_keeps_its_body_makes_the_vu_decide(host, monkeypatch):
    from stampede import _wit, http

    monkeypatch.setattr(http, "_decided", None)
    asked = []
    monkeypatch.setattr(_wit.http, "discard_by_request", lambda: asked.append("by-request"))
    monkeypatch.setattr(_wit.http, "discards_bodies", lambda: asked.append("default") or True)
    http.get("http://x/a")
    http.get("http://x/b", discard_body=True)
    assert asked == []  # until a request keeps its body, the host applies the test's default
    assert [r.discard_body for r in host.sent] == [False, True]
    http.get("http://x/c", discard_body=False)
    http.get("http://x/d")
    http.get("http://x/e", discard_body=False)
    assert asked == ["by-request", "default"]  # asked once
    # The VU decides from then on: `discardResponseBodies` (True here) for those that don't say.
    assert [r.discard_body for r in host.sent[2:]] == [False, True, False]


def test_a_batch_decides_before_it_sends_and_a_request_when_it_is_sent(host, monkeypatch):
    from stampede import _wit, http

    monkeypatch.setattr(http, "_decided", None)
    monkeypatch.setattr(_wit.http, "discard_by_request", lambda: None)
    monkeypatch.setattr(_wit.http, "discards_bodies", lambda: True)
    early = http.Request("GET", "http://x/early")  # made before the VU decides, sent after
    http.batch([http.Request("GET", "http://x/a"), http.Request("GET", "http://x/b", discard_body=False)])
    early.send()
    assert [r.discard_body for r in host.sent] == [True, False, True]


def test_bodies(host):
    from stampede import http

    http.post("http://x/", json={"a": 1})
    http.post("http://x/", {"q": "a b", "n": [1, 2]})
    http.put("http://x/", "héllo", headers=[("Content-Type", "text/plain")])
    http.patch("http://x/", b"\x00\x01", timeout=2)
    j, form, text, raw = host.sent
    assert (j.body, j.headers) == (b'{"a":1}', [("content-type", "application/json")])
    assert form.body == b"q=a+b&n=1&n=2"
    assert ("content-type", "application/x-www-form-urlencoded") in form.headers
    assert (text.body, text.headers) == ("héllo".encode(), [("Content-Type", "text/plain")])
    assert (raw.body, raw.timeout_ms) == (b"\x00\x01", 2000)
    with pytest.raises(ValueError):
        http.post("http://x/", "a", json={})


def test_response(host):
    from stampede import http

    host.body = b'{"id": 7}'
    res = http.get("http://x/")
    assert res.header("set-cookie") == "a=1, b=2"  # asked of the host, before any full fetch
    assert res.status == 200 and res.ok and res.proto == "HTTP/1.1" and res.url == "http://x/"
    assert res.json() == {"id": 7} and res.text == '{"id": 7}' and res.body == b'{"id": 7}'
    assert res.headers["content-type"] == "application/json"
    assert res.headers.get("CONTENT-TYPE") == "application/json"
    assert res.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert res.headers["set-cookie"] == "a=1, b=2" == res.header("Set-Cookie")
    assert "set-cookie" in res.headers and "x-missing" not in res.headers
    assert res.timings.duration == 0.8 and res.error == "" and res.error_code == 0


def test_response_parts_are_fetched_once_and_only_when_read(host):
    from stampede import http

    res = http.get("http://x/")
    assert host.calls == []
    assert res.status == 200 and res.status == 200 and res.ok
    assert host.calls == ["status"]
    assert res.header("content-type") == "application/json"  # one header: no full fetch
    assert host.calls == ["status", "header"]
    res.body, res.body, res.text, res.headers, res.headers
    assert host.calls == ["status", "header", "body", "headers"]
    assert res.header("x-none", "d") == "d" and host.calls[-1] == "headers"  # from the cache
    with res:
        pass
    assert res.body == b"{}"  # fetched before close: still readable
    with pytest.raises(RuntimeError, match="closed: read its url"):
        res.url


def test_batch_list_and_dict(host):
    from stampede import http

    out = http.batch(["http://x/1", ("POST", "http://x/2", "b", {"tags": {"k": "v"}}),
                      {"method": "DELETE", "url": "http://x/3", "timeout": 1},
                      http.Request("HEAD", "http://x/4")])
    assert [r.url for r in out] == ["http://x/1", "http://x/2", "http://x/3", "http://x/4"]
    assert [q.method for q in host.sent] == ["GET", "POST", "DELETE", "HEAD"]
    assert host.sent[1].tags == [("k", "v")] and host.sent[2].timeout_ms == 1000
    named = http.batch({"a": "http://x/a", "b": "http://x/b"})
    assert list(named) == ["a", "b"] and named["b"].url == "http://x/b"


def test_check(host):
    from stampede import check

    assert check(5, {"is five": lambda v: v == 5, "truthy": True}, tags={"t": "1"})
    assert not check(5, {"is six": lambda v: v == 6})
    with pytest.raises(ZeroDivisionError):
        check(5, {"boom": lambda v: v / 0})
    assert host.checks == [("is five", True, [("t", "1")]), ("truthy", True, [("t", "1")]),
                           ("is six", False, []), ("boom", False, [])]


def test_group_forms(host):
    from stampede import group

    assert group("a", lambda: 42) == 42
    with group("b"):
        pass

    @group("c")
    def f():
        return "c"

    assert f() == "c"
    assert host.groups == ["enter:a", "exit", "enter:b", "exit", "enter:c", "exit"]


def test_env_and_log(host):
    from stampede import env, log

    host.env["A"] = "1"
    assert env("A") == "1" and env("B") is None and env("B", "d") == "d"
    log("x", 1, level="warn")
    assert host.logs == [("WARN", "x 1")]


def _script(source, name="userscript"):
    """A module made from `source`, as if imported from componentize-py's /1/ directory."""
    mod = types.ModuleType(name)
    mod.__file__ = f"/1/{name}.py"
    exec(compile(source, mod.__file__, "exec"), mod.__dict__)
    return mod


def test_world_exports(host):
    from componentize_py_types import Err
    from stampede import Trend
    from stampede._world import make_world

    Trend("t_" + "world", is_time=True)  # declared at "import time": registered by options()
    calls = []
    mod = _script(
        "options = {'vus': 2}\n"
        "def setup():\n    return {'token': 'x'}\n"
        "def default(data):\n    calls.append(('default', data))\n"
        "def other():\n    calls.append(('other',))\n"
        "def broken(data):\n    return 1 / 0\n"
        "def _private():\n    pass\n"
        "def teardown(data):\n    calls.append(('teardown', data))\n"
    )
    mod.calls = calls
    world = make_world(mod)()
    assert json.loads(world.options()) == {"vus": 2}
    assert "t_world" in host.metrics
    assert world.entry_points() == ["default", "broken", "other"]
    data = world.setup()
    assert json.loads(data) == {"token": "x"}
    host.setup_data = data
    world.iteration(0)  # default
    world.iteration(2)  # other: takes no data
    world.iteration(0)
    world.teardown(data)
    assert calls == [("default", {"token": "x"}), ("other",), ("default", {"token": "x"}),
                     ("teardown", {"token": "x"})]
    # Asked of the host once per VU, then kept decoded (k6 decodes it once per VU too).
    assert host.setup_data_calls == 1
    with pytest.raises(Err) as e:
        world.iteration(1)  # broken
    assert 'File "userscript.py", line 9, in broken' in e.value.value
    assert e.value.value.endswith("ZeroDivisionError: division by zero")
    with pytest.raises(Err, match="no entry point number 3"):
        world.iteration(3)


def test_world_without_setup(host):
    from stampede._world import make_world

    world = make_world(_script("def default(data):\n    assert data is None\n"))()
    assert world.options() == "{}"
    assert world.setup() == b"null"
    host.setup_data = b"null"
    world.iteration(0)
    world.teardown(b"null")


def test_host_calls_at_import_time_raise():
    import stampede._wit as wit

    wit = importlib.reload(wit)  # as at build time: guards in place until an export runs
    from stampede import env

    with pytest.raises(RuntimeError, match=r"context\.env\(\) was called while the script"):
        env("A")
    wit.go_live()


def test_cookies_jars_compression_and_auth(host, monkeypatch):
    from stampede import _wit, http

    w = _wit.http
    host.cookies = [w.ResponseCookie("a", "1", "", "/", True, False, 60, 0),
                    w.ResponseCookie("a", "2", "x", "", False, True, -1, 1700000000000)]
    res = http.get("http://x/", cookies={"a": "1", "b": {"value": 2, "replace": True}, "c": None},
                   compression="gzip, br", auth="digest")
    (req,) = host.sent
    assert [(c.name, c.value, c.replace) for c in req.cookies] == [("a", "1", False), ("b", "2", True)]
    assert (req.compression, req.auth) == ("gzip, br", w.AuthScheme.DIGEST)
    assert isinstance(req.jar, w.JarChoice_Vu)
    assert [(c["value"], c["http_only"], c["max_age"]) for c in res.cookies["a"]] == [
        ("1", True, 60), ("2", False, -1)]
    http.get("http://x/", jar=None)
    assert isinstance(host.sent[-1].jar, w.JarChoice_NoJar)

    class Jar:
        def __init__(self):
            self.calls = []

        def set(self, *a):
            self.calls.append(("set",) + a)

        def cookies_for_url(self, url):
            return [("s", "1"), ("s", "2")]

        def clear(self, url):
            self.calls.append(("clear", url))

        def delete(self, url, name):
            self.calls.append(("delete", url, name))

    monkeypatch.setattr(w, "CookieJar", Jar)
    jar = http.CookieJar()
    http.get("http://x/", jar=jar)
    assert isinstance(host.sent[-1].jar, w.JarChoice_Custom) and host.sent[-1].jar.value is jar._jar
    jar.set("http://x/", "n", "v", domain="x", max_age=5, expires=1.5, secure=True)
    (_, url, name, value, opts), = jar._jar.calls
    assert (url, name, value, opts.domain, opts.max_age, opts.expires_ms, opts.secure) == (
        "http://x/", "n", "v", "x", 5, 1500, True)
    assert jar.cookies_for_url("http://x/") == {"s": ["1", "2"]}
    with pytest.raises(ValueError):
        http.get("http://x/", auth="ntlm")
    with pytest.raises(TypeError):
        http.get("http://x/", jar="nope")
