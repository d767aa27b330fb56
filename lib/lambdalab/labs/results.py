"""What a check's run produces: the status names, one check's result, and points over many results.

Kept below both ``core`` (which runs checks) and ``report`` (which shows them), so neither imports the other's
internals in a circle.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

PASSED, FAILED, ERROR, TODO, MISSING, TIMEOUT, NOT_RUN = (
    "passed", "failed", "error", "todo", "missing", "timeout", "not run")


@dataclass
class CheckResult:
    """The outcome of one check."""

    id: str
    task: str
    title: str
    status: str
    points: int
    max_points: int
    hidden: bool
    message: str = ""
    call: str | None = None
    expected: str | None = None
    actual: str | None = None
    hint: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def detail_lines(self, previous: "CheckResult | None" = None) -> list[tuple[str, str]]:
        """(label, text) pairs that explain a result that did not pass (shortened when ``previous`` said it)."""
        if self.passed:
            return []
        if previous is not None and previous.message == self.message and not self.expected and not self.call:
            return [("", "(same as above)")]
        rows = [("", self.message)]
        for label in ("call", "expected", "actual", "hint"):
            value = getattr(self, label)
            if value:
                rows.append((label, value))
        return rows


class Totals:
    """Points earned and possible over ``results`` (a lab report, or a graded submission)."""

    results: list

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.results)
