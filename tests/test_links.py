"""Every relative link in every notebook, lab, solution and Markdown file leads to a file that exists, and an anchor
(``README.md#course-map``) to a heading that exists. A notebook not written yet is named without a link.

Whatever notebooks exist are checked: nothing here lists them.
"""
import json
import pathlib
import re
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "node_modules", ".pytest_cache", ".ipynb_checkpoints", "__pycache__", "build", "dist"}
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target "title")
HTML_LINK = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def course_files() -> list[pathlib.Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in path.relative_to(ROOT).parts):
            continue
        if path.suffix in (".md", ".ipynb") and path.is_file():
            found.append(path)
    return found


def markdown_of(path: pathlib.Path) -> str:
    """The Markdown a reader sees: a .md file, or the Markdown cells of a notebook."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def links_in(markdown: str) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", markdown))
    return LINK.findall(text) + HTML_LINK.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(path: pathlib.Path) -> set[str]:
    """Every anchor a link may name in ``path``: GitHub-style slugs, and JupyterLab's (heading text, spaces as -)."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", markdown_of(path)), re.M)
    found = {slug(h) for h in headings} | {h.strip().replace(" ", "-") for h in headings}
    found |= set(re.findall(r"""<a\s+(?:name|id)=["']([^"']+)["']""", markdown_of(path)))
    return found


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith("//")


FILES = course_files()


def test_the_files_checked_include_every_notebook_lab_and_doc():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert "README.md" in names and "notebooks/00_start_here.ipynb" in names
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "labs").glob("*.ipynb")} <= names
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "solutions").glob("*.ipynb")} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path):
    broken = []
    for target in links_in(markdown_of(path)):
        if is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / urllib.parse.unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            hint = " (a notebook not written yet is named without a link)" if target.endswith(".ipynb") else ""
            broken.append(f"{target}: no such file{hint}")
        elif anchor and resolved.suffix in (".md", ".ipynb") and anchor not in anchors_of(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
        elif not str(resolved).startswith(str(ROOT)):
            broken.append(f"{target}: points outside the course folder")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_checker_finds_what_it_should(tmp_path):
    """The checker itself: a dead link, a dead anchor, and links it must ignore (code, external)."""
    md = ("[ok](README.md#course-map) [dead](nowhere.ipynb) ![img](data/x.png) <a href='docs/a.md'>a</a>\n"
          "`[not a link](in-code.md)`\n```\n[nor](in-a-fence.md)\n```\n[web](https://example.com/x)")
    assert sorted(links_in(md)) == sorted(["README.md#course-map", "nowhere.ipynb", "data/x.png", "docs/a.md",
                                           "https://example.com/x"])
    assert "course-map" in anchors_of(ROOT / "README.md")
    assert slug("03 · DynamoDB Streams: `view types`") == "03--dynamodb-streams-view-types"


NAMED_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?\)")


def next_links(path: pathlib.Path) -> list[str]:
    """Notebooks named by the "Next →" links of a notebook's navigation line (its first two cells)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    top = "\n".join("".join(c["source"]) for c in nb["cells"][:2] if c["cell_type"] == "markdown")
    return [pathlib.PurePosixPath(target).name for text, target in NAMED_LINK.findall(INLINE_CODE.sub("", top))
            if text.strip().endswith("→") and target.endswith(".ipynb")]


def navigation_gaps() -> list[str]:
    """Where "Next →" does not lead to the next notebook that exists, and labs no notebook links to."""
    order = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    gaps = [f"{here.name}: its navigation line has no 'Next →' link to {there.name}"
            for here, there in zip(order, order[1:]) if there.name not in next_links(here)]
    linked = {pathlib.PurePosixPath(t.split("#")[0]).name for p in order for t in links_in(markdown_of(p))}
    gaps += [f"{lab.name} is not linked from any notebook" for lab in sorted((ROOT / "labs").glob("*.ipynb"))
             if lab.name not in linked]
    return gaps


def test_next_links_lead_through_every_notebook_and_to_every_lab():
    gaps = navigation_gaps()
    assert not gaps, "\n".join(gaps)


def test_the_navigation_checker_sees_the_chain_that_exists():
    assert next_links(ROOT / "notebooks" / "00_start_here.ipynb") == ["01_event_driven_model.ipynb"]
    assert next_links(ROOT / "notebooks" / "02_s3_file_processing.ipynb") == ["03_dynamodb_streams.ipynb"]
    assert not any(g.startswith(("00_", "01_", "02_")) for g in navigation_gaps())
    assert "lab01_thumbnail.ipynb is not linked from any notebook" not in navigation_gaps()
