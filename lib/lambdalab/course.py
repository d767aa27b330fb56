"""The course as a whole: where it lives, how JupyterLab opens it, and whether this environment matches the lock.

``make lab``, the README's conda route (``lambdalab lab``) and the browser tests all start JupyterLab with
``lab_command()``: the repository root is the server's root (so every ``../labs/...`` link works and the file browser
shows notebooks, labs, data and docs) and the printed URL opens notebook 00 directly, with or without a local browser.
"""
from __future__ import annotations

import pathlib
import re
import sys
from dataclasses import dataclass
from importlib import metadata

START_NOTEBOOK = "notebooks/00_start_here.ipynb"
HIDDEN_IN_FILE_BROWSER = ["__pycache__", "*.pyc", "*.egg-info", ".venv", ".ipynb_checkpoints", ".pytest_cache"]
LOCK_FILE = "requirements.lock"


def root() -> pathlib.Path:
    """The course folder (the one holding notebooks/ and requirements.lock): where this package was installed from,
    else the current folder or one of its parents."""
    here = pathlib.Path(__file__).resolve().parents[2]
    for candidate in (here, pathlib.Path.cwd(), *pathlib.Path.cwd().parents):
        if (candidate / START_NOTEBOOK).is_file():
            return candidate
    raise FileNotFoundError(f"Cannot find the course folder (one holding {START_NOTEBOOK}). Run this from inside the "
                            "course's folder.")


def lab_command(course_root=None, *extra: str, allow_root: bool = False) -> list[str]:
    """The ``jupyter lab`` command line that serves ``course_root`` and opens notebook 00 (``extra`` appended)."""
    folder = pathlib.Path(course_root) if course_root else root()
    hidden = "[" + ", ".join(f"'{g}'" for g in HIDDEN_IN_FILE_BROWSER) + "]"
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={folder}",
           f"--LabApp.default_url=/lab/tree/{START_NOTEBOOK}", f"--ContentsManager.hide_globs={hidden}"]
    return cmd + (["--allow-root"] if allow_root else []) + list(extra)


# -- environment check ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mismatch:
    """A package whose installed version is not the one ``requirements.lock`` pins (``installed`` None: missing)."""

    package: str
    locked: str
    installed: str | None


@dataclass
class EnvironmentCheck:
    """The result of ``check_environment()``: displays itself as a short report that says what to run."""

    python: str
    checked: int
    mismatches: list
    lock: pathlib.Path

    @property
    def ok(self) -> bool:
        return not self.mismatches and sys.version_info >= (3, 11)

    def advice(self) -> str:
        if sys.version_info < (3, 11):
            return "This course needs Python 3.11 or newer: install it, then run `make clean lab`."
        if not self.mismatches:
            return ""
        return ("Run `make install` in the course folder (or `pip install -r requirements.lock`, in the conda "
                "environment), then restart the kernel (Kernel > Restart Kernel).")

    def text(self) -> str:
        head = (f"Python {self.python}; {self.checked} packages compared with {self.lock.name}: "
                + ("all match." if not self.mismatches else f"{len(self.mismatches)} differ."))
        lines = [head]
        differ = [m for m in self.mismatches if m.installed]
        for m in differ[:15]:
            lines.append(f"  {m.package:<24} locked {m.locked:<12} installed {m.installed}")
        if len(differ) > 15:
            lines.append(f"  ... and {len(differ) - 15} more")
        missing = [m.package for m in self.mismatches if not m.installed]
        if missing:
            lines.append(f"  not installed: {', '.join(missing)}")
        if self.advice():
            lines.append(self.advice())
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.text())


def _name(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def read_lock(path) -> dict[str, str]:
    """``{package: version}`` from a pip ``name==version`` lock file (comments and blank lines skipped)."""
    pins = {}
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_name(name.split("[", 1)[0])] = version.strip()
    return pins


def check_environment(lock=None) -> EnvironmentCheck:
    """Compare every package pinned in requirements.lock with the version installed here."""
    lock = pathlib.Path(lock) if lock else root() / LOCK_FILE
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    mismatches = [Mismatch(name, version, installed.get(name)) for name, version in sorted(read_lock(lock).items())
                  if installed.get(name) != version]
    return EnvironmentCheck(sys.version.split()[0], len(read_lock(lock)), mismatches, lock)
