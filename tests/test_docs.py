"""The documentation tells the truth about the project: its links lead somewhere, the commands it
names exist, and the executed walkthrough keeps up with the notebook it was made from."""
from __future__ import annotations

import contextlib
import functools
import io
import re
import shlex

import nbformat
import pytest

from helpers import project

MEGABYTE = 1 << 20
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`([^`]+)`")
MAKE = re.compile(r"(?:^|[\s;&|(])make((?:\s+[A-Za-z_]+=\S+)*)\s+([a-z][a-z-]*)")
PIPELINE = re.compile(r"python -m pipeline((?:\s+[^\s`'\"]+){0,2})")


def pages() -> list[str]:
    """The Markdown a reader meets: the README, the pages under docs/ and data/README.md."""
    root = project()
    return ["README.md", "data/README.md",
            *sorted(p.relative_to(root).as_posix() for p in (root / "docs").glob("*.md"))]


def read(page: str) -> str:
    return (project() / page).read_text()


def block_lines(page: str) -> list[str]:
    """The lines of a page's fenced blocks, joined where they end in a backslash."""
    blocks = [block.replace("\\\n", " ") for block in FENCE.findall(read(page))]
    return [line for block in blocks for line in block.splitlines()]


def code(page: str) -> list[str]:
    """The commands of a page: the lines of its fenced blocks and its inline code spans."""
    prose = FENCE.sub("", read(page))
    spans = [" ".join(span.split()) for span in CODE_SPAN.findall(prose)]  # may wrap lines
    return block_lines(page) + spans


def anchors(page: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#+\s+(.*)$", FENCE.sub("", read(page)), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", pages())
def test_links_lead_to_files_and_headings_that_exist(page):
    folder = (project() / page).parent
    broken = []
    for target in LINK.findall(read(page)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not checked offline
            continue
        path, _, anchor = target.partition("#")
        linked = (folder / path).resolve() if path else project() / page
        name = linked.relative_to(project().resolve()).as_posix() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {name}")
        elif anchor and name.endswith(".md") and anchor not in anchors(name):
            broken.append(f"{target}: no heading #{anchor} in {name}")
    assert not broken, f"{page} has broken links: {broken}"


def test_every_docs_page_is_linked_from_the_readme_and_starts_with_a_summary():
    readme = set(LINK.findall(read("README.md")))
    for page in pages()[2:]:
        assert page in readme, f"README.md does not link {page}: a reader would never find it"
        first = read(page).split("\n\n")[1]
        assert not first.startswith(("#", "-", "|", "```")) and len(first.split()) >= 12, \
            f"{page} must start with a paragraph that says what the page is about"


def test_readme_stays_short_for_a_newcomer():
    lines = len(read("README.md").splitlines())
    assert lines <= 170, f"README.md has {lines} lines: move details to a page under docs/"


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (project() / "Makefile").read_text(), re.MULTILINE))


@pytest.mark.parametrize("page", pages())
def test_make_targets_named_exist(page):
    named = {match[1] for line in code(page) for match in MAKE.findall(line)}
    missing = named - makefile_targets()
    assert not missing, f"{page} names make targets the Makefile lacks: {sorted(missing)}"
    if page == "README.md":  # the quick start's commands are found: the pattern still works
        assert {"setup", "tutorial", "compare", "report", "lab", "test", "lint"} <= named


@functools.cache
def choices(*command: str) -> set[str]:
    """Positional choices `python -m pipeline ... --help` lists: subcommands, stages, actions."""
    from pipeline import cli

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit):
        cli.main([*command, "--help"])
    positional = printed.getvalue().partition("positional arguments:")[2]
    return {choice for group in re.findall(r"^\s+\{([^}]*)\}", positional, re.MULTILINE)
            for choice in group.split(",")}


@pytest.mark.parametrize("page", pages())
def test_pipeline_commands_named_exist(page):
    wrong = []
    for line in code(page):
        for words in PIPELINE.findall(line):
            words = [word for word in words.split() if not word.startswith("-")][:2]
            if not words or words[0].isupper():  # `python -m pipeline` alone, or a placeholder
                continue
            if words[0] not in choices():
                wrong.append(f"python -m pipeline {words[0]}")
            elif len(words) > 1 and choices(words[0]) and words[1] not in choices(words[0]) \
                    and not words[1].isupper():
                wrong.append(f"python -m pipeline {' '.join(words)}")
    assert not wrong, f"{page} names commands that do not exist: {wrong}"


def test_the_datalad_command_typed_out_by_hand_is_the_one_the_code_generates():
    from pipeline import stages

    typed = [shlex.split(line) for line in block_lines("docs/workflow.md")
             if line.startswith("datalad containers-run")]
    assert len(typed) == 1, "docs/workflow.md types out one containers-run of the train stage"
    assert typed[0] == stages.plan(project(), "train").datalad_command(), \
        "docs/workflow.md's containers-run differs from `python -m pipeline run train --dry-run`"


def test_executed_walkthrough_has_the_cells_of_the_source_notebook():
    executed = nbformat.read(project() / "docs/walkthrough.ipynb", as_version=4)
    source = nbformat.read(project() / "notebooks/walkthrough.ipynb", as_version=4)
    cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert [(c.cell_type, c.source) for c in cells] == \
        [(c.cell_type, c.source) for c in source.cells], \
        "docs/walkthrough.ipynb is out of date: " \
        "IMAGENETTE_URL=file:///path/to/archive.tgz make docs, then commit it"


def test_executed_walkthrough_has_outputs_and_no_machine_paths():
    text = (project() / "docs/walkthrough.ipynb").read_text()
    html = (project() / "docs/walkthrough.html").read_text()
    notebook = nbformat.reads(text, as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert "differences in the results between main and verify: 0 lines" in text
    for page in (text, html):
        assert "imageclf-docs-" not in page and "/tmp/imageclf-walkthrough" in page
        assert len(page.encode()) < 2 * MEGABYTE
