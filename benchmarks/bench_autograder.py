"""How long does grading a class take? Grades N synthetic submissions of lab01 (default 30: mostly right, some
unfinished, some broken, made fresh from the solution) with `lambdalab grade`'s code and reports the time.

    .venv/bin/python benchmarks/bench_autograder.py [--n 30] [--jobs 2] [--timeout 60] [--loops 0]

--loops K makes K of the submissions contain an endless loop: each costs about --timeout seconds more.
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

from lambdalab.labs import autograder, generate, synthetic

# What a class hands in, in proportion (kind, share); expected points for lab01 in brackets.
MIX = [("correct", 18), ("todo", 3), ("syntax_error", 2), ("runtime_error", 2), ("no_checks", 2),
       ("invalid_json", 1), ("kills_kernel", 1), ("not_a_notebook", 1)]
EXPECTED = {"correct": 20, "todo": 0, "syntax_error": 4, "runtime_error": 20, "no_checks": 20, "invalid_json": 0,
            "kills_kernel": 20, "not_a_notebook": 0, "loops": 20}


def make_class(folder: pathlib.Path, n: int, loops: int) -> dict:
    master = generate.repo_root() / "solutions" / "lab01_thumbnail.ipynb"
    kinds = [kind for kind, share in MIX for _ in range(share)]
    plan = {}
    for i in range(n):
        kind = "loops" if i < loops else kinds[i % len(kinds)]
        student = f"student{i + 1:02d}_{kind}"
        synthetic.write(folder, student, synthetic.variant(master, "lab01", kind))
        plan[student] = kind
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--loops", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        folder = pathlib.Path(tmp) / "submissions"
        plan = make_class(folder, args.n, args.loops)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        book = autograder.grade(folder, "lab01", pathlib.Path(tmp) / "grades.csv", timeout=args.timeout,
                                jobs=args.jobs, seed=1)
        elapsed = time.perf_counter() - started
        wrong = {g.student: g.points for g in book.graded if g.points != EXPECTED[plan[g.student]]}
    per = [g.seconds for g in book.graded]
    print(f"graded {args.n} submissions of lab01 in {elapsed:.1f} s with {args.jobs} jobs on {os.cpu_count()} CPUs "
          f"({elapsed / args.n:.2f} s per submission; one submission takes {min(per):.1f}-{max(per):.1f} s; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {args.loops} endless loop(s), "
          f"cell timeout {args.timeout:g} s)")
    if wrong:
        print(f"UNEXPECTED GRADES: {wrong}", file=sys.stderr)
        return 1
    print("every submission got the expected grade")
    return 0


if __name__ == "__main__":
    sys.exit(main())
