"""The world's exports, implemented on top of a user's script module.

componentize-py looks for a class named `WitWorld` in the app module, instantiates it and
calls its methods for the world's exports (kebab-case names become snake_case:
`entry-points` -> `entry_points`). A `result<T, string>` export returns T for `ok` and raises
`componentize_py_types.Err(message)` for `err`; any other exception escaping an export would
trap the instance, so every export catches and converts.

The build generates the app module (see build.py):

    import my_script as _script
    from stampede._world import make_world
    WitWorld = make_world(_script)
"""

from __future__ import annotations

import inspect
import json
import linecache
import traceback
import types
from typing import Any, Callable, Dict, List, Optional

from . import _Metric, _wit
from ._wit import Err

# Module-level names that are part of the lifecycle, not entry points for scenarios' `exec`.
_RESERVED = {"options", "setup", "teardown", "handle_summary"}


def _keep_source(module: types.ModuleType) -> None:
    """Keeps the script's source in the snapshot, for tracebacks with source lines.

    At run time the component has no file system: the .py files it was built from are gone.
    linecache entries whose mtime is None are never revalidated against the file, so lines
    read now, at build time, stay usable in every VU.
    """
    path = getattr(module, "__file__", None)
    if path:
        lines = linecache.getlines(path)
        if lines:
            linecache.cache[path] = (sum(map(len, lines)), None, lines, path)


def _error_text(exc: BaseException, script_dir: str = "") -> str:
    """The error for the host: the exception and its traceback, without the SDK's frames.

    componentize-py mounts each `-p` directory as /0, /1, … while building, so the script's
    frames would say `File "/1/script.py"`: `script_dir` ("/1/") is cut to leave the file name.
    """
    tb = exc.__traceback__
    # Drop this module's frames (the export and the dispatch) at the top of the traceback.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    return text.replace(f'File "{script_dir}', 'File "') if script_dir else text


def _takes_data(fn: Callable[..., Any]) -> bool:
    """Whether an entry point takes the setup data (`default(data)`) or nothing (`default()`)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins, odd callables: pass the data
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def make_world(script: types.ModuleType) -> type:
    """Builds the `WitWorld` class for `script`. Everything that can be worked out without
    the host (the entry points and their signatures) is done here, at build time, so it is
    part of the pre-initialised snapshot and costs the VUs nothing."""

    _keep_source(script)
    script_file = getattr(script, "__file__", None) or ""
    script_dir = script_file[: script_file.rfind("/") + 1]
    entries: Dict[str, Callable[..., Any]] = {}
    for name, value in vars(script).items():
        if (
            inspect.isfunction(value)
            and value.__module__ == script.__name__  # defined in the script, not imported
            and not name.startswith("_")
            and name not in _RESERVED
        ):
            entries[name] = value
    if not entries:
        raise RuntimeError(
            f"{script.__name__} defines no entry point: define `def default(data):` "
            "(or functions that scenarios name with `exec`)"
        )
    with_data = {name: _takes_data(fn) for name, fn in entries.items()}
    setup_fn: Optional[Callable[[], Any]] = getattr(script, "setup", None)
    teardown_fn: Optional[Callable[..., Any]] = getattr(script, "teardown", None)
    # `default` first when there is one (as the Rust SDK), then the others.
    entry_names: List[str] = sorted(entries, key=lambda n: (n != "default", n))

    # `iteration` names an entry point by its index in `entry_names`.
    by_index = [(entries[name], with_data[name]) for name in entry_names]

    # The setup data of the iterations: asked of the host (`context.setup-data`) the first
    # time an entry point takes it, then kept decoded. A VU is one instance, so this is once
    # per VU, as in k6.
    cache: Dict[str, Any] = {}

    def iteration_data() -> Any:
        if "value" not in cache:
            data = _wit.context.setup_data()
            cache["value"] = json.loads(data) if data else None
        return cache["value"]

    class WitWorld:
        def options(self) -> str:
            _wit.go_live()
            # `options` cannot return an error. An exception escaping an export is printed
            # with its traceback on stderr (the test's log) by componentize-py's runtime, then
            # traps the instance, which fails the test (exit code 107).
            for metric in _Metric._declared:  # declared now, so thresholds can name them
                metric._handle()
            opts = getattr(script, "options", None)
            if callable(opts):
                opts = opts()
            return json.dumps(opts or {})

        def entry_points(self) -> List[str]:
            _wit.go_live()
            return entry_names

        def setup(self) -> bytes:
            _wit.go_live()
            if setup_fn is None:
                return b"null"
            try:
                value = setup_fn()
            except BaseException as e:
                raise Err(_error_text(e, script_dir))
            try:
                return json.dumps(value).encode("utf-8")
            except (TypeError, ValueError) as e:
                raise Err(f"setup() returned data that cannot be encoded as JSON: {e}")

        def iteration(self, entry: int) -> None:
            _wit.go_live()
            if not 0 <= entry < len(by_index):
                raise Err(f"the script has no entry point number {entry}")
            fn, takes_data = by_index[entry]
            try:
                if takes_data:
                    fn(iteration_data())
                else:
                    fn()
            except BaseException as e:
                raise Err(_error_text(e, script_dir))

        def teardown(self, data: bytes) -> None:
            _wit.go_live()
            if teardown_fn is None:
                return
            try:
                if _takes_data(teardown_fn):
                    teardown_fn(json.loads(data) if data else None)
                else:
                    teardown_fn()
            except BaseException as e:
                raise Err(_error_text(e, script_dir))

    return WitWorld
