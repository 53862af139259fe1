"""HTTP requests, measured by stampede: the counterpart of k6's `k6/http`.

Every request goes over the VU's own keep-alive connections and produces k6's built-in
samples. A request that fails (refused, reset, timed out, TLS…) does not raise: it returns a
`Response` with `status == 0` and `error` set, as in k6.

    from stampede import http

    res = http.get(f"{base}/get", headers={"accept": "application/json"}, tags={"page": "home"})
    res = http.post(f"{base}/post", json={"user": "ada"}, timeout=2.5, name="create user")
    a, b = http.batch([("GET", f"{base}/a"), http.Request("GET", f"{base}/b", discard_body=True)])

Cookies work as in k6: the VU's jar (`http.cookie_jar()`, emptied at the start of every
iteration) stores what responses set and sends it back; `cookies={"name": "value"}` (or
`{"name": {"value": "v", "replace": True}}`) adds cookies to one request; `jar=http.CookieJar()`
uses a jar of the script's own and `jar=None` none at all. `compression="gzip"` compresses the
body; `auth="digest"` answers a digest challenge with the URL's credentials.
"""

from __future__ import annotations

import json as _json
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from ._wit import http as _wit

__all__ = [
    "Request", "Response", "Headers", "Timings", "CookieJar", "cookie_jar",
    "request", "get", "head", "post", "put", "patch", "delete", "options", "batch",
]

# What the helpers accept for headers and tags: a mapping or a sequence of (name, value) pairs.
Fields = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], None]
# A body: bytes as they are, str as UTF-8, a mapping as a form (as k6 does), None as empty.
Body = Union[bytes, bytearray, memoryview, str, Mapping[str, Any], None]

Timings = _wit.Timings  # a dataclass: blocked, connecting, tls_handshaking, sending, waiting, receiving, duration (ms)


def _fields(fields: Fields) -> list:
    """Headers or tags as the host wants them: a list of (str, str)."""
    if not fields:
        return []
    items = fields.items() if isinstance(fields, Mapping) else fields
    return [(str(k), str(v)) for k, v in items]


def _body(body: Body, headers: list) -> bytes:
    """Encodes a body, adding a content type where the encoding implies one."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, Mapping):
        _default_header(headers, "content-type", "application/x-www-form-urlencoded")
        return urlencode(body, doseq=True).encode("ascii")
    raise TypeError(f"unsupported body type {type(body).__name__}: use bytes, str, dict or json=")


def _default_header(headers: list, name: str, value: str) -> None:
    if not any(n.lower() == name for n, _ in headers):
        headers.append((name, value))


def _timeout_ms(timeout: Union[float, int, str, None]) -> Optional[int]:
    """Seconds (a number), or a k6-style duration string ("500ms", "10s", "1m"), to ms."""
    if timeout is None:
        return None
    if isinstance(timeout, str):
        t = timeout.strip()
        for unit, factor in (("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)):
            if t.endswith(unit) and t[: -len(unit)].replace(".", "", 1).isdigit():
                return int(float(t[: -len(unit)]) * factor)
        raise ValueError(f"invalid timeout {timeout!r}: use seconds or e.g. '500ms', '10s'")
    if timeout < 0:
        raise ValueError("timeout must not be negative")
    return int(timeout * 1000)


class CookieJar:
    """A cookie jar, as k6's: `cookie_jar()` is the VU's, `CookieJar()` a new one of the
    script's own, for requests that pass it as `jar=`."""

    __slots__ = ("_jar",)

    def __init__(self, _handle: Any = None) -> None:
        self._jar = _handle if _handle is not None else _wit.CookieJar()

    def set(self, url: str, name: str, value: str, *, domain: Optional[str] = None,
            path: Optional[str] = None, expires: Optional[float] = None,
            max_age: Optional[int] = None, secure: bool = False, http_only: bool = False) -> None:
        """Stores `name=value` for `url`, as if a response from it had set the cookie.
        `expires` is a Unix time in seconds; `max_age` seconds (0 or less deletes)."""
        opts = _wit.CookieOptions(
            domain=domain, path=path,
            expires_ms=None if expires is None else int(expires * 1000),
            max_age=None if max_age is None else int(max_age),
            secure=bool(secure), http_only=bool(http_only),
        )
        self._jar.set(str(url), str(name), str(value), opts)

    def cookies_for_url(self, url: str) -> dict:
        """The cookies a request to `url` would send: `{name: [value, ...]}` (k6's shape)."""
        out: dict = {}
        for name, value in self._jar.cookies_for_url(str(url)):
            out.setdefault(name, []).append(value)
        return out

    def clear(self, url: str) -> None:
        """Removes every cookie a request to `url` would send."""
        self._jar.clear(str(url))

    def delete(self, url: str, name: str) -> None:
        """Removes the cookie `name` that a request to `url` would send."""
        self._jar.delete(str(url), str(name))


_vu_jar: Optional[CookieJar] = None


def cookie_jar() -> CookieJar:
    """The VU's own cookie jar (k6's `http.cookieJar()`)."""
    global _vu_jar
    if _vu_jar is None:
        _vu_jar = CookieJar(_wit.vu_cookie_jar())
    return _vu_jar


class _VuJar:
    """The default of `jar=`: the VU's jar."""


_VU = _VuJar()


def _jar_choice(jar: Any) -> Any:
    if jar is _VU:
        return _wit.JarChoice_Vu()
    if jar is None:
        return _wit.JarChoice_NoJar()
    if isinstance(jar, CookieJar):
        return _wit.JarChoice_Custom(jar._jar)
    raise TypeError(f"jar must be a CookieJar or None, not {type(jar).__name__}")


def _request_cookies(cookies: Optional[Mapping[str, Any]]) -> list:
    out = []
    for name, c in (cookies or {}).items():
        if c is None:
            continue
        if isinstance(c, Mapping):
            value = c.get("value")
            out.append(_wit.RequestCookie(str(name), "" if value is None else str(value),
                                          bool(c.get("replace", False))))
        else:
            out.append(_wit.RequestCookie(str(name), str(c), False))
    return out


# The test's `discardResponseBodies`, once this VU decides per request (None: the host
# applies it).
_decided: Optional[bool] = None


def _discards(own: Optional[bool]) -> bool:
    """Whether a request discards its body: its own choice, else the test's. The host applies
    the test's default itself until a request keeps its body; from then on this VU decides every
    request, having asked the host for the default once."""
    global _decided
    if own is not None:
        own = bool(own)
        if not own and _decided is None:
            _wit.discard_by_request()
            _decided = _wit.discards_bodies()
        return own
    return bool(_decided)


def _plain_extras():
    """The extras of a request that sets none of them."""
    return _wit.RequestExtras(timeout_ms=None, tags=[], name=None, max_redirects=None,
                              discard_body=False, jar=_wit.JarChoice_Vu(), cookies=[],
                              compression="", auth=None, http_version=None)


_AUTH = {None: None, "": None, "basic": _wit.AuthScheme.BASIC, "digest": _wit.AuthScheme.DIGEST}


class Request:
    """A request that has not been sent yet; for `batch`, or to send later with `send()`.

    `timeout` is in seconds (or a string like "10s"); `redirects` is how many redirects to
    follow (0 returns the redirect itself); `name` sets the `name` tag that groups dynamic URLs
    into one series; `discard_body=True` keeps the body out of the VU's memory (it is still
    read and counted), `False` hands it over even when the test's `discardResponseBodies` is
    set (k6's `responseType: 'text'`), and `None` leaves it to that option. `json=` sends a JSON body with its content type. `cookies`, `jar`,
    `compression` and `auth` are k6's params of those names (see the module's doc);
    `http_version` is "1.1", "2" or "auto" (k6's default: HTTP/2 when the TLS handshake picks
    it).
    """

    __slots__ = ("_inner", "_discard")

    def __init__(
        self,
        method: str,
        url: str,
        body: Body = None,
        *,
        json: Any = None,
        headers: Fields = None,
        tags: Fields = None,
        timeout: Union[float, int, str, None] = None,
        name: Optional[str] = None,
        redirects: Optional[int] = None,
        discard_body: Optional[bool] = None,
        cookies: Optional[Mapping[str, Any]] = None,
        jar: Any = _VU,
        compression: Optional[str] = None,
        auth: Optional[str] = None,
        http_version: Optional[str] = None,
    ) -> None:
        if auth not in _AUTH:
            raise ValueError(f"unsupported auth {auth!r}: use 'basic' or 'digest'")
        hdrs = _fields(headers)
        if json is not None:
            if body is not None:
                raise ValueError("give either body or json, not both")
            _default_header(hdrs, "content-type", "application/json")
            data = _json.dumps(json, separators=(",", ":")).encode("utf-8")
        else:
            data = _body(body, hdrs)
        self._discard = None if discard_body is None else bool(discard_body)
        extras = None
        # The common request (method, URL, headers, body) hands over no extras at all. Whether
        # it discards its body is decided when it is sent (`_sent`).
        if not (timeout is None and not tags and name is None and redirects is None
                and jar is _VU and not cookies and not compression
                and not auth and http_version is None):
            extras = _wit.RequestExtras(
                timeout_ms=_timeout_ms(timeout),
                tags=_fields(tags),
                name=name,
                max_redirects=redirects,
                discard_body=False,
                jar=_jar_choice(jar),
                cookies=_request_cookies(cookies),
                compression=compression or "",
                auth=_AUTH[auth],
                http_version=None if http_version is None else str(http_version),
            )
        self._inner = _wit.Request(method=method.upper(), url=url, headers=hdrs, body=data,
                                   extras=extras)

    @property
    def method(self) -> str:
        return self._inner.method

    @property
    def url(self) -> str:
        return self._inner.url

    def send(self) -> "Response":
        """Sends the request and waits for its response."""
        return Response(_wit.send(self._sent()))

    def _sent(self):
        """The request as it goes now: its body discarded or not, as decided at this moment."""
        discard = _discards(self._discard)
        inner = self._inner
        if inner.extras is None:
            if not discard:
                return inner
            inner = _wit.Request(method=inner.method, url=inner.url, headers=inner.headers,
                                 body=inner.body, extras=_plain_extras())
        inner.extras.discard_body = discard
        return inner

    def __repr__(self) -> str:
        return f"<Request {self._inner.method} {self._inner.url}>"


class Headers(Mapping[str, str]):
    """Response headers: a read-only mapping with case-insensitive names.

    `headers["Set-Cookie"]` is the header's value, a repeated header's values joined by ", "
    (as k6 and `requests` show them); `get_all(name)` gives the values one by one;
    iterating yields each name once (lower-cased); `raw` is the list as received.
    """

    __slots__ = ("raw", "_index")

    def __init__(self, raw: Sequence[Tuple[str, str]]) -> None:
        self.raw = list(raw)
        self._index: Optional[dict] = None  # built on first lookup: most scripts never look

    def _idx(self) -> dict:
        if self._index is None:
            idx: dict = {}
            for n, v in self.raw:
                idx.setdefault(n.lower(), []).append(v)
            self._index = idx
        return self._index

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._idx()[name.lower()])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._idx()

    def __iter__(self) -> Iterator[str]:
        return iter(self._idx())

    def __len__(self) -> int:
        return len(self._idx())

    def get_all(self, name: str) -> list:
        return list(self._idx().get(name.lower(), ()))

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


class _Closed:
    """Stands in for a released host response."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the response was closed: read its {name} before close()")


class Response:
    """An HTTP response, or the failure to get one (`status == 0`, `error` set).

    The host keeps the response (a WIT resource) and hands each part over when first asked
    for: a script that only checks the status does not pay for copying headers and body into
    Python. Parts are cached. The host-side response is released when this object is
    garbage-collected, or at once with `close()` / `with http.get(...) as res:`.
    """

    __slots__ = ("_inner", "_status", "_body", "_headers", "_timings", "_url", "_cookies")

    def __init__(self, inner: "_wit.Response") -> None:
        self._inner = inner
        self._status: Optional[int] = None
        self._body: Optional[bytes] = None
        self._headers: Optional[Headers] = None
        self._timings: Optional[Timings] = None
        self._url: Optional[str] = None
        self._cookies: Optional[dict] = None

    @property
    def cookies(self) -> dict:
        """The cookies the response set, as k6 shows them: `{name: [{"name", "value",
        "domain", "path", "http_only", "secure", "max_age", "expires"}]}` (`expires` in ms
        since the epoch, 0 when absent)."""
        if self._cookies is None:
            out: dict = {}
            for c in self._inner.cookies():
                out.setdefault(c.name, []).append({
                    "name": c.name, "value": c.value, "domain": c.domain, "path": c.path,
                    "http_only": c.http_only, "secure": c.secure, "max_age": c.max_age,
                    "expires": c.expires,
                })
            self._cookies = out
        return self._cookies

    @property
    def status(self) -> int:
        """HTTP status; 0 when no response arrived (see `error`)."""
        if self._status is None:
            self._status = self._inner.status()
        return self._status

    @property
    def proto(self) -> str:
        """e.g. 'HTTP/1.1'; '' when no response arrived."""
        return self._inner.proto()

    @property
    def url(self) -> str:
        """The URL that answered, after redirects."""
        if self._url is None:
            self._url = self._inner.url()
        return self._url

    @property
    def body(self) -> bytes:
        """The body (b'' with discard_body)."""
        if self._body is None:
            self._body = self._inner.body()
        return self._body

    @property
    def headers(self) -> Headers:
        """All headers: a case-insensitive mapping (`get_all(name)` for repeated ones)."""
        if self._headers is None:
            self._headers = Headers(self._inner.headers())
        return self._headers

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The value of header `name` (case-insensitive), a repeated header's values joined
        by ", "; asks the host for that one header unless all headers were fetched already."""
        if self._headers is not None:
            return self._headers.get(name, default)
        value = self._inner.header(name)
        return default if value is None else value

    @property
    def timings(self) -> Timings:
        """Per-phase times in ms: blocked, connecting, tls_handshaking, sending, waiting,
        receiving, duration."""
        if self._timings is None:
            self._timings = self._inner.timings()
        return self._timings

    @property
    def error(self) -> str:
        """Why the request failed; '' when it did not (a 4xx/5xx response did not fail)."""
        return self._inner.error()

    @property
    def error_code(self) -> int:
        """k6's error code; 0 when none, 1000 + status for status >= 400."""
        return self._inner.error_code()

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, invalid bytes replaced."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return _json.loads(self.body)

    @property
    def ok(self) -> bool:
        """A response arrived with a 2xx or 3xx status."""
        return 200 <= self.status < 400

    def close(self) -> None:
        """Releases the host's response now (parts already fetched stay readable)."""
        if not isinstance(self._inner, _Closed):
            self._inner.__exit__(None, None, None)
            self._inner = _Closed()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.status == 0:
            return f"<Response error {self.error_code}: {self.error}>"
        return f"<Response [{self.status}] {self.url}>"


def request(method: str, url: str, body: Body = None, **params: Any) -> Response:
    """Sends a request with any method. `params`: see `Request`."""
    return Request(method, url, body, **params).send()


def get(url: str, **params: Any) -> Response:
    return Request("GET", url, **params).send()


def head(url: str, **params: Any) -> Response:
    return Request("HEAD", url, **params).send()


def options(url: str, body: Body = None, **params: Any) -> Response:
    return Request("OPTIONS", url, body, **params).send()


def post(url: str, body: Body = None, **params: Any) -> Response:
    return Request("POST", url, body, **params).send()


def put(url: str, body: Body = None, **params: Any) -> Response:
    return Request("PUT", url, body, **params).send()


def patch(url: str, body: Body = None, **params: Any) -> Response:
    return Request("PATCH", url, body, **params).send()


def delete(url: str, body: Body = None, **params: Any) -> Response:
    return Request("DELETE", url, body, **params).send()


def _as_request(item: Any) -> Request:
    """A batch item: a Request, a URL (GET), a tuple (method, url[, body[, params]]) or a
    dict with the keys method, url, body and Request's keyword names (k6's object form)."""
    if isinstance(item, Request):
        return item
    if isinstance(item, str):
        return Request("GET", item)
    if isinstance(item, Mapping):
        kw = dict(item)
        return Request(kw.pop("method", "GET"), kw.pop("url"), kw.pop("body", None), **kw)
    if isinstance(item, (tuple, list)):
        method, url, *rest = item
        body = rest[0] if rest else None
        kw = dict(rest[1]) if len(rest) > 1 and rest[1] else {}
        return Request(method, url, body, **kw)
    raise TypeError(f"cannot make a request of {type(item).__name__}")


def batch(requests: Union[Sequence[Any], Mapping[str, Any]]):
    """Sends several requests concurrently (each on its own connection), like k6's
    `http.batch`. A list gives a list of responses in the same order; a dict gives a dict
    with the same keys."""
    keys = list(requests) if isinstance(requests, Mapping) else None
    reqs = [_as_request(requests[k]) for k in keys] if keys is not None else [_as_request(r) for r in requests]
    # A request of the batch that keeps its body makes the VU decide before any is resolved.
    if any(q._discard is False for q in reqs):
        _discards(False)
    responses = [Response(r) for r in _wit.batch([q._sent() for q in reqs])]
    return dict(zip(keys, responses)) if keys is not None else responses
