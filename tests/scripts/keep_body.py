"""Run with `--discard-response-bodies`: a request may keep its body all the same (k6's
`responseType: 'text'`), and the others still discard theirs."""

from stampede import check, env, http

options = {"iterations": 1}


def default(data):
    base = env("BASE_URL")
    check(http.get(f"{base}/echo"), {"discarded by default": lambda r: r.body == b""})
    check(http.get(f"{base}/echo", discard_body=False), {"kept when asked": lambda r: b"GET" in r.body})
    check(http.get(f"{base}/echo"), {"discarded after it": lambda r: r.body == b""})
