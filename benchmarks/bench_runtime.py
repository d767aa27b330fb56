"""Benchmark of the local Lambda runtime: import time, cold start, warm round trip.

Run: .venv/bin/python benchmarks/bench_runtime.py
Targets on a 2-core machine: import under 1 s; cold start under 1 s; warm round trip under 5 ms median.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def import_seconds(statement: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=HERE)) for _ in range(repeats)]
    return statistics.median(runs)


def main() -> None:
    sys.path.insert(0, HERE)
    print(f"import lambdalab                       {import_seconds('import lambdalab') * 1000:8.1f} ms")
    print(f"from lambdalab import aws, runtime     "
          f"{import_seconds('from lambdalab import aws, runtime') * 1000:8.1f} ms")
    from lambdalab import aws
    from lambdalab.runtime import LambdaFunction

    t = time.perf_counter()
    aws.start()
    print(f"aws.start() (moto + loopback server)   {(time.perf_counter() - t) * 1000:8.1f} ms")

    colds = []
    for i in range(5):
        f = LambdaFunction(f"noop-{i}", "noop.handler")
        t = time.perf_counter()
        inv = f.invoke({})
        colds.append((time.perf_counter() - t) * 1000)
        assert inv.cold_start and inv.ok
        f.shutdown()
    print(f"cold start, no-op (median of 5)        {statistics.median(colds):8.1f} ms wall "
          f"(Init Duration {inv.init_duration_ms:.1f} ms)")

    f = LambdaFunction("noop-warm", "noop.handler")
    f.invoke({})
    warm = []
    for _ in range(100):
        t = time.perf_counter()
        f.invoke({"n": 1})
        warm.append((time.perf_counter() - t) * 1000)
    print(f"warm round trip, no-op (median of 100) {statistics.median(warm):8.2f} ms "
          f"(p90 {statistics.quantiles(warm, n=10)[-1]:.2f} ms)")
    t = time.perf_counter()
    aws.client("logs").describe_log_groups()
    print(f"first logs read (delivers buffered logs) {(time.perf_counter() - t) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
