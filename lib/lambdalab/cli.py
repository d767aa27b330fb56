"""The ``lambdalab`` command. Each subcommand is a small function here that calls the library; add one by writing
``_add_<name>(subparsers)`` and listing it in ``COMMANDS``.

    lambdalab lab [--no-browser] [JUPYTER ARGS]  open the course in JupyterLab at notebook 00 (what `make lab` runs)
    lambdalab grade SUBMISSIONS_DIR --lab lab01 [--out grades.csv] [--feedback-dir DIR] [--timeout 60] [--jobs 2]
    lambdalab generate [--lab lab01]        write labs/ (student versions) from solutions/
    lambdalab check-generated [--lab lab01] exit 1 if labs/ is out of date with solutions/
    lambdalab cleanup [--yes]               on real AWS: list what the course created (by its tag), ask, delete it
"""
from __future__ import annotations

import argparse
import sys


def _grade(args) -> int:
    from .labs import autograder

    out = args.out or f"grades-{args.lab}.csv"
    book = autograder.grade(args.submissions, args.lab, out, feedback_dir=args.feedback_dir, timeout=args.timeout,
                            check_timeout=args.check_timeout, jobs=args.jobs, seed=args.seed,
                            progress=not args.quiet)
    print(book.summary())
    return 0


def _add_grade(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade a folder of submitted lab notebooks into a CSV gradebook",
                              description="Run each submitted notebook in a fresh kernel, then every public and "
                                          "hidden check; write a CSV gradebook and one feedback file per student.")
    p.add_argument("submissions", help="folder of <student>.ipynb files, or of <student>/ folders")
    p.add_argument("--lab", required=True, help="lab id, e.g. lab01")
    p.add_argument("--out", help="CSV gradebook to write (default: grades-<lab>.csv)")
    p.add_argument("--feedback-dir", help="where the <student>.md feedback files go (default: next to --out)")
    p.add_argument("--timeout", type=float, default=60, help="seconds one notebook cell may run (default 60)")
    p.add_argument("--check-timeout", type=float, default=30, help="seconds one check may run (default 30)")
    p.add_argument("--jobs", type=int, help="submissions graded at once (default: CPU count, at most 4)")
    p.add_argument("--seed", type=int, help="seed for the hidden checks' inputs (default: random, printed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_grade)


def _generate(args) -> int:
    from .labs import generate

    for path, changed in generate.generate(args.root, args.lab):
        print(f"{'wrote    ' if changed else 'unchanged'} {path}")
    return 0


def _add_generate(subparsers) -> None:
    p = subparsers.add_parser("generate", help="write the student versions in labs/ from solutions/")
    _lab_and_root(p, "only this lab (e.g. lab01); default: every lab")
    p.set_defaults(run=_generate)


def _check_generated(args) -> int:
    from .labs import generate

    stale = generate.stale(args.root, args.lab)
    for path in stale:
        print(f"out of date: {path}")
    if stale:
        print("Run `lambdalab generate` to rebuild the student versions from solutions/.")
        return 1
    print("labs/ is up to date with solutions/.")
    return 0


def _add_check_generated(subparsers) -> None:
    p = subparsers.add_parser("check-generated", help="exit 1 if labs/ is out of date with solutions/")
    _lab_and_root(p, "only this lab")
    p.set_defaults(run=_check_generated)


def _lab_and_root(parser, lab_help: str) -> None:
    parser.add_argument("--lab", help=lab_help)
    parser.add_argument("--root", help="the course folder (default: the one holding solutions/)")


def _cleanup(args) -> int:
    from . import aws, safety

    backend = aws.start()
    if backend.name != "aws":
        print(f"lambdalab cleanup is for real AWS (LAMBDALAB_BACKEND=aws); this is the {backend.name} backend, "
              "where aws.reset() wipes everything.", file=sys.stderr)
        return 2
    found = safety.created(aws.client, backend.prefix)
    where = f"account {backend.account_id}, region {backend.region}"
    if not found:
        print(f"Nothing tagged {safety.TAG_KEY}={backend.prefix} in {where}.")
        return 0
    print(f"The course created these in {where} (tag {safety.TAG_KEY}={backend.prefix}):")
    for resource in found:
        print(f"  {resource}")
    if not args.yes:
        try:
            answer = input(f"Delete these {len(found)} resources? Type 'delete' to confirm: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "delete":
            print("Nothing deleted.")
            return 1
    failed = 0
    for resource in found:
        try:
            resource.delete()
            print(f"deleted  {resource}")
        except Exception as exc:  # report and go on: the rest can still be cleaned up
            failed += 1
            print(f"FAILED   {resource}: {exc}", file=sys.stderr)
    return 1 if failed else 0


def _add_cleanup(subparsers) -> None:
    p = subparsers.add_parser("cleanup", help="real AWS: delete what the course created (listed first, confirmed)",
                              description="With LAMBDALAB_BACKEND=aws and LAMBDALAB_PREFIX set: list every resource "
                                          "whose name starts with the prefix and that carries the course's tag, ask "
                                          "for confirmation, then delete them. Nothing else is touched.")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(run=_cleanup)


def _lab(args) -> int:
    import os
    import subprocess

    from . import course

    cmd = course.lab_command(args.root, *args.jupyter_args, allow_root=hasattr(os, "geteuid") and os.geteuid() == 0)
    if os.name == "posix":  # become JupyterLab, so Ctrl-C and its shutdown question reach it directly
        sys.stdout.flush()
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)


def _add_lab(subparsers) -> None:
    p = subparsers.add_parser("lab", help="open the course in JupyterLab, at notebook 00",
                              description="Start JupyterLab with the course folder as its root and notebook 00 open. "
                                          "Other arguments go to `jupyter lab` (e.g. --no-browser, --port 8899).")
    p.add_argument("--root", help="the course folder (default: the one this package was installed from)")
    p.set_defaults(run=_lab)


COMMANDS = [_add_lab, _add_grade, _add_generate, _add_check_generated, _add_cleanup]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lambdalab", description="Tools for the DVA-C02 Lambda course.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "lab":
        args.jupyter_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:  # RuntimeError: e.g. safety.UnsafeOperation
        print(f"lambdalab {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
