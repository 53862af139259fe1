"""The host's imports, in one place.

`wit_world` is the package componentize-py generates from host-api/wit/script.wit (world
`script`). It exists only inside a component build: `componentize-py componentize` generates it
on the fly, and `componentize-py -d WIT -w script bindings DIR` writes the same code to DIR for
editors and type checkers.

Every call into these modules is a call to the host. The host is not there while
componentize-py pre-initialises the component (it imports the script at build time and
snapshots the heap): such a call traps with "called trapping stub: ...", which says nothing
about where. So until the host first calls an export, the import functions are replaced by
guards that raise a Python error pointing at the script's line; `go_live()` puts them back.
"""

import inspect

from componentize_py_types import Err  # noqa: F401  (re-exported for _world)
from wit_world.imports import checks, context, http, metrics

_live = False
_originals = []


def _guard(interface: str, name: str):
    def guarded(*args, **kwargs):
        raise RuntimeError(
            f"{interface}.{name}() was called while the script was being imported. The script "
            "is imported at build time, where there is no host: call stampede's functions "
            "(http, env, check, sleep, metrics, ...) inside default(), setup() or teardown(), "
            "not at module level."
        )
    return guarded


for _module in (checks, context, http, metrics):
    _interface = _module.__name__.rsplit(".", 1)[-1]
    for _name, _fn in list(vars(_module).items()):
        if inspect.isfunction(_fn) and _fn.__module__ == _module.__name__:
            _originals.append((_module, _name, _fn))
            setattr(_module, _name, _guard(_interface, _name))


def go_live() -> None:
    """Called by every export: from the first one on, the host is there."""
    global _live
    if not _live:
        for module, name, fn in _originals:
            setattr(module, name, fn)
        _live = True
