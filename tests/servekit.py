"""bench/load.py as a module for tests (bench/ is not a package): its `ServeProcess` starts
a real `shortstack serve` child process (`WorkerProcess`: `shortstack worker`), and its audits check a data dir afterwards."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _load_bench() -> Any:
    name = "shortstack_bench_load"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
ServeProcess = bench.ServeProcess
WorkerProcess = bench.WorkerProcess
write_config = bench.write_config
