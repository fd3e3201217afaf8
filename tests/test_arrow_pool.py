"""The command line's Arrow memory pool: the C library's heap, unless the user chose.

``latcircle.cli.main()`` as the process's own command line sets ``ARROW_DEFAULT_MEMORY_POOL``
to ``system`` (``system.arrow_system_pool``) before anything loads pyarrow, so that what Arrow
frees (pandas' string columns, the GeoParquet network's read) goes back to the heap numpy
allocates from and ``system.release_memory`` trims. Each check runs in a child process (the
pool is chosen once per process) and asks pyarrow itself which pool it uses.
"""

from __future__ import annotations

from typing import Any

from child_json import child_json

from latcircle.system import ARROW_POOL_ENV

#: A child process: call ``main`` as the arguments say (or not at all), then allocate through
#: pyarrow and report the pool it used and the variable.
_ARROW_CHILD = """
import json, os, sys
how = sys.argv[1]
imported = False
if how != "none":
    from latcircle.cli import main
    imported = "pyarrow" in sys.modules  # main sets the variable first thing: pyarrow later
    sys.argv = ["latcircle", "--version"]
    try:
        main() if how == "command-line" else main(["--version"])
    except SystemExit:
        pass
import pyarrow as pa
before = pa.total_allocated_bytes()
column = pa.array(["武汉", "a" * 1000] * 100)
print(json.dumps({
    "env": os.environ.get("ARROW_DEFAULT_MEMORY_POOL"),
    "pool": pa.default_memory_pool().backend_name,
    "allocated": pa.total_allocated_bytes() - before,
    "pyarrow_on_import": imported,
}))
"""


def _arrow_child(how: str, users: str | None = None) -> dict[str, Any]:
    chosen = {} if users is None else {ARROW_POOL_ENV: users}
    return child_json(_ARROW_CHILD, how, unset=(ARROW_POOL_ENV,), env=chosen)


def test_the_command_line_gives_arrow_the_c_library_heap() -> None:
    alone = _arrow_child("none")
    command_line = _arrow_child("command-line")
    assert alone["env"] is None
    assert alone["pool"] != "system"  # the wheel's own allocator (mimalloc or jemalloc)
    assert command_line["env"] == "system"
    assert command_line["pool"] == "system"
    assert command_line["allocated"] > 100 * 1000  # the column was allocated from that pool
    assert command_line["pyarrow_on_import"] is False  # set before pyarrow could read it


def test_an_arrow_pool_the_user_set_is_kept() -> None:
    users = _arrow_child("command-line", users="jemalloc")
    assert users["env"] == "jemalloc"
    assert users["pool"] == "jemalloc"


def test_main_with_arguments_leaves_the_arrow_pool_alone() -> None:
    library = _arrow_child("library")
    assert library["env"] is None
    assert library["pool"] == _arrow_child("none")["pool"]
