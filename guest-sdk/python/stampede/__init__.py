"""stampede — write load-test scripts (virtual users) in Python.

A script is a plain module; the build turns it into a WebAssembly component of the world
`stampede:script/script@0.3.0` and stampede runs one instance of it per virtual user (VU).

    from stampede import http, check, sleep, env

    options = {"vus": 10, "duration": "30s", "thresholds": {"http_req_duration": ["p(95)<250"]}}

    def default(data):
        res = http.get(f"{env('BASE_URL', 'http://127.0.0.1:8080')}/")
        check(res, {"status is 200": lambda r: r.status == 200})
        sleep(1)

What the module may define (all optional except `default`):

| name | what | called |
|---|---|---|
| `options` | a dict with k6's option schema (or a function returning one) | once, before anything else |
| `setup()` | returns data that can be encoded as JSON | once, before the load |
| `default(data)` | one iteration (`default()` without a parameter works too) | every iteration |
| any other public function `f(data)` | an entry point for scenarios' `"exec": "f"` | by its scenarios |
| `teardown(data)` | the end | once, after the load |

An exception ends the iteration: stampede counts it, logs it with its traceback and goes on.
An exception in `setup` or `teardown` fails the test (exit code 107).

The module is imported at *build* time (componentize-py snapshots the initialised
interpreter), when no host is there: module-level code must not send requests, read `env`,
sleep or record metrics. Define data and functions there; do the work in the functions.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple, Union

from . import http
from ._wit import checks as _checks, context as _context, metrics as _metrics

__all__ = [
    "http", "check", "sleep", "group", "env", "log", "exec_info", "ExecInfo", "test_ids", "TestIds",
    "abort_test", "fail_test", "Counter", "Gauge", "Rate", "Trend",
]

Tags = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], None]
ExecInfo = _context.ExecInfo  # vu_id, iteration_in_instance, iteration_in_scenario, scenario, test_elapsed_ms
TestIds = _context.TestIds  # vu_id_in_test, scenario_iteration_in_instance, scenario_iteration_in_test


def _tags(tags: Tags) -> list:
    if not tags:
        return []
    items = tags.items() if isinstance(tags, Mapping) else tags
    return [(str(k), str(v)) for k, v in items]


# --- checks -------------------------------------------------------------------------------

def check(value: Any, checks: Mapping[str, Any], tags: Tags = None) -> bool:
    """Runs named checks on `value`, like k6's `check(res, {...})`; returns whether all passed.

    Each entry is a predicate called with `value`, or a plain value whose truth is the
    result. A failed check does not stop the iteration. A predicate that raises records that
    check as failed, and the exception then ends the iteration (so a bug is not silent).
    """
    t = _tags(tags)
    all_ok = True
    for name, predicate in checks.items():
        try:
            ok = bool(predicate(value)) if callable(predicate) else bool(predicate)
        except BaseException:
            _checks.check(name, False, t)
            raise
        all_ok &= _checks.check(name, ok, t)
    return all_ok


# --- context ------------------------------------------------------------------------------

def env(name: str, default: Optional[str] = None) -> Optional[str]:
    """A variable given with `-e NAME=VALUE` (k6's `__ENV.NAME`), or `default`."""
    value = _context.env(name)
    return default if value is None else value


def sleep(seconds: float) -> None:
    """Think time (k6's `sleep`): pauses this VU in the host; the other VUs go on.
    (`time.sleep` also suspends only this VU, through WASI's poll, but it is not the host's
    think time: prefer this one.)"""
    _context.sleep(float(seconds))


def exec_info() -> ExecInfo:
    """The current VU and iteration (k6's `exec.vu` / `exec.scenario`)."""
    return _context.info()


def test_ids() -> TestIds:
    """The VU's and the iteration's numbers across every instance of a test split with
    execution segments (k6's `exec.vu.idInTest`, `exec.scenario.iterationInTest`)."""
    return _context.ids()


_LEVELS = {
    "debug": _context.LogLevel.DEBUG,
    "info": _context.LogLevel.INFO,
    "warn": _context.LogLevel.WARN,
    "warning": _context.LogLevel.WARN,
    "error": _context.LogLevel.ERROR,
}


def log(*parts: Any, level: str = "info") -> None:
    """Writes a line to the test's log (`print` also works: stdout goes to the log)."""
    _context.log(_LEVELS[level], " ".join(str(p) for p in parts))


def abort_test(reason: str = "test aborted by the script") -> None:
    """Stops the whole test now (exit code 108); teardown still runs. Does not return."""
    _context.abort_test(reason)
    raise SystemExit(reason)  # not reached: the host ends the iteration


def fail_test(reason: str = "test failed by the script") -> None:
    """Marks the test as failed (exit code 110) and lets it go on."""
    _context.fail_test(reason)


class _Group(contextlib.ContextDecorator):
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> "_Group":
        _context.group_enter(self.name)
        return self

    def __exit__(self, *exc: Any) -> None:
        _context.group_exit()


def group(name: str, fn: Optional[Callable[[], Any]] = None) -> Any:
    """A named group: its samples carry the tag `group=::name` and its duration is a
    `group_duration` sample. Three spellings:

        group("login", lambda: http.get(url))   # k6's form: runs fn, returns its result
        with group("login"): ...                # a block
        @group("login")                         # a function whose every call is the group
        def login(): ...
    """
    if fn is None:
        return _Group(name)
    with _Group(name):
        return fn()


# --- custom metrics -----------------------------------------------------------------------

class _Metric:
    """A custom metric. Creating one at module level is fine (it only records the name); it
    is registered with the host when `options()` is asked for — so thresholds can name it —
    and again, per VU, on first use."""

    _kind = _metrics.MetricType.COUNTER
    _declared: list = []  # every metric made at import time, registered by options()

    def __init__(self, name: str, is_time: bool = False) -> None:
        self.name = name
        self.is_time = is_time
        self._id: Optional[int] = None
        _Metric._declared.append(self)

    def _handle(self) -> int:
        if self._id is None:
            # An Err here (bad name, name taken by another type) raises and ends the iteration.
            self._id = _metrics.register(self.name, self._kind, self.is_time)
        return self._id

    def add(self, value: float, tags: Tags = None) -> None:
        """Adds a sample (a Rate takes a bool or a number, non-zero counting as true)."""
        _metrics.add(self._handle(), float(value), _tags(tags))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Counter(_Metric):
    """A cumulative sum: the summary shows its total and rate per second."""
    _kind = _metrics.MetricType.COUNTER


class Gauge(_Metric):
    """The latest value, with its min and max."""
    _kind = _metrics.MetricType.GAUGE


class Rate(_Metric):
    """The share of non-zero (true) samples."""
    _kind = _metrics.MetricType.RATE


class Trend(_Metric):
    """A distribution (avg, min, med, max, percentiles). `Trend(name, True)` or
    `Trend(name, is_time=True)` makes its values milliseconds, shown as durations."""
    _kind = _metrics.MetricType.TREND
