"""Benchmarks are not run by the tests (they measure; `make bench` runs them), but they must stay importable."""
import importlib.util
import pathlib
import sys

import pytest

BENCHMARKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(path.parent))
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs the imports, not main(): each script guards it with __name__
    assert callable(getattr(module, "main", None)), f"{path.name} needs a main()"
    sys.modules.pop(spec.name, None)
