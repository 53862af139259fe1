"""A Python script exercising cookies, compression, redirects and authentication against the
tests' semantics server (tests/all/semantics_server.rs)."""

import json

from stampede import check, env, http

options = {"iterations": 2}


def sent(res, name):
    """The value of header `name` the echo server received."""
    for k, v in json.loads(res.body)["headers"]:
        if k.lower() == name:
            return v
    return None


def default(data):
    base = env("BASE_URL")
    jar = http.cookie_jar()
    res = http.get(f"{base}/echo")
    check(res, {"the jar starts empty": lambda r: sent(r, "cookie") is None})
    res = http.get(f"{base}/cookie?set=sid%3D1%3B%20Path%3D%2F%3B%20HttpOnly")
    check(res, {"res.cookies": lambda r: r.cookies["sid"][0]["value"] == "1" and r.cookies["sid"][0]["http_only"]})
    res = http.get(f"{base}/echo", cookies={"extra": "x", "sid": {"value": "2", "replace": True}})
    check(res, {"request cookies, replace": lambda r: sent(r, "cookie") == "extra=x; sid=2"})
    check(jar, {"cookies_for_url": lambda j: j.cookies_for_url(base)["sid"] == ["1"]})
    res = http.get(f"{base}/echo", jar=None)
    check(res, {"jar=None sends none": lambda r: sent(r, "cookie") is None})
    mine = http.CookieJar()
    mine.set(base, "own", "1", path="/")
    res = http.get(f"{base}/echo", jar=mine)
    check(res, {"a jar of its own": lambda r: sent(r, "cookie") == "own=1"})
    res = http.get(f"{base}/encoded?ce=zstd,deflate&text=decoded")
    check(res, {"zstd and deflate decoded": lambda r: r.text == "decoded"})
    res = http.post(f"{base}/echo", "z" * 50, compression="br")
    check(res, {"body compressed": lambda r: sent(r, "content-encoding") == "br"})
    creds = base.replace("http://", "http://Mufasa:pw@")
    res = http.get(f"{creds}/digest?algorithm=MD5&user=Mufasa&pass=pw", auth="digest")
    check(res, {"digest auth": lambda r: r.status == 200})
    res = http.post(f"{base}/redirect?status=307&to=%2Fecho", "kept")
    check(res, {"307 keeps the body": lambda r: json.loads(r.body)["body"] == "kept"})
