"""Every figure in README.md, docs/*.md and trained/README.md is tied to the committed report it came from.

The convention (docs/results.md, "Figures and their reports", says it for readers):

- A **report** is a small JSON file in docs/reports/: what was run (`command`), on what (`machine`,
  `software`), when (`date`) and the numbers it gave (`figures`). A report made from committed run
  outputs (the records and reports in trained/) says how in `derived`, and this test recomputes each
  such figure. `compared_with` holds figures others reported (the tutorial's, nanoGPT's) that the text
  sets beside the report's, each with its source.
- The text is cut into **blocks**: a table row, a paragraph, a list item. A block names a report by
  linking to it or by writing its path in `code`.
- Every **figure** in a block that names reports must equal a figure of one of them at the precision
  printed, unless the clause it sits in (a table cell, a parenthesis, a sentence, a part between
  semicolons) says "not re-measured".
- A block with figures that names no report must say "not re-measured" itself, or sit in a table whose
  caption (the paragraph just above it) opens with "Not re-measured", or in a section whose first
  paragraph does (it covers the section and its subsections).
- Figures are decimals (0.9852, 20.5 min, 0.031 s), times (1 min 13 s, 396 s, 185 ms, 35 min),
  speeds (60,287 px/s), ratios (3,513x) and counts written as correct/total (8439/8972). Version
  numbers (TensorFlow 2.21) and whatever is in `code`, in a fenced block or in a link's target are not
  figures; nor are whole numbers without one of those units (image counts, epochs, sizes).

Nothing here runs a model: it reads markdown and JSON.
"""

import glob
import json
import math
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "trained" / "README.md"]
REPORTS = REPO / "docs" / "reports"
MARKER = "not re-measured"
REQUIRED = ("what", "command", "machine", "software", "date", "figures")

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
CODE = re.compile(r"`[^`]*`")
NAMED = re.compile(r"(?:\]\(|`)(?:\.\./|\./)?((?:docs/)?reports/[\w.-]+\.json)")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
VERSIONED = re.compile(r"(TensorFlow|tensorflow-cpu|Keras|keras|Python|JAX|jax|jaxlib|numpy|scikit-learn|py3langid|"
                       r"lingua-language-detector|Pillow)\s*$")
NUMBER = r"\d[\d,]*"
FIGURE = re.compile(
    rf"(?P<minsec>(?<![\w.,])(?P<m>{NUMBER}) min (?P<s>\d+) s\b)"
    rf"|(?P<fraction>(?<![\w.,/])(?P<num>{NUMBER})/(?P<den>{NUMBER})(?![\w/]))"
    rf"|(?P<decimal>(?<![\w.])(?P<dec>{NUMBER}\.\d+)(?!\d|\.\d)(?:\s?(?P<dunit>min|ms|s)\b)?)"
    rf"|(?P<ratio>(?<![\w.,])(?P<times>{NUMBER})x(?!\w))"
    rf"|(?P<timed>(?<![\w.,])(?P<count>{NUMBER}) (?P<unit>min|ms|s|px/s)\b)"
)


def plain(number):
    return number.replace(",", "")


class Figure:
    """One figure as printed: its text, kind and what it must match."""

    def __init__(self, match):
        self.text = match.group(0)
        self.start = match.start()
        if match.group("minsec"):
            self.kind, self.value = "seconds", int(plain(match.group("m"))) * 60 + int(match.group("s"))
        elif match.group("fraction"):
            self.kind, self.value = "fraction", (int(plain(match.group("num"))), int(plain(match.group("den"))))
        elif match.group("decimal"):
            self.kind, self.value, self.unit = "decimal", plain(match.group("dec")), match.group("dunit")
        elif match.group("ratio"):
            self.kind, self.value = "whole", int(plain(match.group("times")))
        else:
            unit = match.group("unit")
            self.kind = "minutes" if unit == "min" else "whole"
            self.value = int(plain(match.group("count")))

    def matches(self, leaves):
        """Whether one of the report's (key, number) leaves prints as this figure."""
        for key, number in leaves:
            per_minute = number / 60 if "seconds" in key else None
            if self.kind == "decimal":
                places = len(self.value.split(".")[1])
                if f"{number:.{places}f}" == self.value:
                    return True
                if self.unit == "min" and per_minute is not None and f"{per_minute:.{places}f}" == self.value:
                    return True
            elif self.kind in ("seconds", "whole"):
                if f"{number:.0f}" == str(self.value):
                    return True
            elif self.kind == "minutes":
                if str(self.value) in (f"{number:.0f}", None if per_minute is None else f"{per_minute:.0f}"):
                    return True
        if self.kind == "fraction":
            wholes = {number for _, number in leaves if float(number).is_integer()}
            return all(part in wholes for part in self.value)
        return False


def figures_in(text):
    """The figures of a piece of prose (code spans and link targets already removed)."""
    found = []
    for match in FIGURE.finditer(text):
        if match.group("decimal") and VERSIONED.search(text[: match.start()]):
            continue  # TensorFlow 2.21, Python 3.11: a version, not a figure
        found.append(Figure(match))
    return found


def prose(text):
    """A block's text as read for figures, position for position: code spans, link targets and emphasis
    blanked out."""
    text = CODE.sub(lambda span: " " * len(span.group(0)), text)
    text = LINK_TARGET.sub(lambda target: "]" + " " * (len(target.group(0)) - 1), text)
    return text.replace("**", "  ").replace("\\|", " /")


def clauses(text, table_row):
    """(start, text, exempt) of the pieces a figure is judged in, positions as in `text`: each parenthesis
    (inner ones blanked out of outer ones), then what is left of each cell of a table row or each
    sentence of prose, cut at its semicolons. A piece is exempt when it says "not re-measured", or when
    the clause it belongs to or any parenthesis in that clause does: "0.9744 to 0.9794 (not re-measured)"."""
    parentheses = []
    while True:
        inner = re.search(r"\([^()]*\)", text)
        if not inner:
            break
        parentheses.append((inner.start(), inner.group(0)))
        text = text[: inner.start()] + " " * len(inner.group(0)) + text[inner.end():]
    cut = r"[|;]" if table_row else r"(?<=[.!?])\s+(?=[A-Z*\d])|;"
    pieces, start = [], 0
    for separator in [*re.finditer(cut, text), None]:
        end = separator.start() if separator else len(text)
        inside = [(at, words) for at, words in parentheses if start <= at < end]
        exempt = any(MARKER in words.lower() for _, words in [(start, text[start:end]), *inside])
        pieces += [(start, text[start:end], exempt)] + [(at, words, exempt or MARKER in words.lower()) for at, words in inside]
        start = separator.end() if separator else end
    return pieces


class Block:
    def __init__(self, path, line, text, kind, caption=None, covered_by_section=False):
        self.path, self.line, self.text, self.kind = path, line, text, kind
        self.caption, self.covered_by_section = caption, covered_by_section

    @property
    def where(self):
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def reports(self):
        return sorted({name if name.startswith("docs/") else f"docs/{name}" for name in NAMED.findall(self.text)})

    def says_not_remeasured(self):
        return MARKER in self.text.lower()

    def opens_with_the_marker(self):
        """A caption or a section's first paragraph that covers what follows: "Not re-measured: ..."."""
        return bool(re.match(r"[*_]*not re-measured", self.text, re.I))

    def figures(self):
        return figures_in(prose(self.text))

    def checked_figures(self):
        """The figures outside every clause that says "not re-measured", positions as in `text`."""
        figures = []
        for start, clause, exempt in clauses(prose(self.text), self.kind == "row"):
            if not exempt:
                for figure in figures_in(clause):
                    figure.start += start
                    figures.append(figure)
        return sorted(figures, key=lambda figure: figure.start)


def blocks(path):
    """Every table row, paragraph and list item of a markdown file, outside fenced code."""
    text = FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), path.read_text())
    found, lines, start = [], [], 0
    sections = []  # [level, covered] of the sections open at this line
    whole_file = False  # a "Not re-measured" paragraph before the first heading covers the file
    last_paragraph, caption, in_table, first_in_section = None, None, False, True

    def covered():
        return whole_file or any(is_covered for _, is_covered in sections)

    def close():
        nonlocal lines, last_paragraph, whole_file, first_in_section
        if lines:
            block = Block(path, start, " ".join(lines), "paragraph", covered_by_section=covered())
            found.append(block)
            last_paragraph = block
            if first_in_section and block.opens_with_the_marker():  # only a section's opening paragraph
                if sections:
                    sections[-1][1] = True
                else:
                    whole_file = True
            first_in_section = False
        lines = []

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("|"):
            close()
            if not in_table:
                in_table, caption, first_in_section = True, last_paragraph, False
            if not re.fullmatch(r"\|[\s:|-]+", stripped):
                found.append(Block(path, number, stripped, "row", caption, covered()))
            continue
        in_table = False
        heading = re.match(r"(#+)\s", stripped)
        if heading:
            close()
            level = len(heading.group(1))
            while sections and sections[-1][0] >= level:
                sections.pop()
            sections.append([level, False])
            last_paragraph, first_in_section = None, True
        elif not stripped:
            close()
        elif re.match(r"([-*]|\d+\.)\s", stripped) and not line.startswith("  "):
            close()
            lines, start = [stripped], number
        else:
            start = start if lines else number
            lines.append(stripped)
    close()
    return found


ALL_BLOCKS = [block for path in DOCS for block in blocks(path)]


def load(path):
    return json.loads((REPO / path).read_text())


def numeric_leaves(value, key=""):
    """(key path, number) of every number inside a JSON value."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [(key, value)]
    if isinstance(value, dict):
        return [leaf for name, item in value.items() for leaf in numeric_leaves(item, f"{key}.{name}" if key else name)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in numeric_leaves(item, key)]
    return []


def report_leaves(names):
    leaves = []
    for name in names:
        report = load(name)
        leaves += numeric_leaves(report["figures"], "figures")
        leaves += numeric_leaves(report.get("compared_with", {}), "compared_with")
    return leaves


def backing(block):
    """The reports a block's figures are checked against: those it names, else those its table's caption names."""
    if block.reports():
        return block.reports()
    if block.kind == "row" and block.caption is not None and not block.says_not_remeasured():
        return block.caption.reports()  # a table whose caption names its report
    return []


def mismatches(block):
    """Lines naming each figure of the block that the reports it is checked against do not hold."""
    names = backing(block)
    missing = [name for name in names if not (REPO / name).is_file()]
    if missing:
        return [f"{block.where}: names {', '.join(missing)}, which does not exist"]
    if not names:
        return []
    leaves = report_leaves(names)
    return [f"{block.where}: {figure.text!r} is not in {', '.join(names)} (at the precision printed): {block.text[:160]}"
            for figure in block.checked_figures() if not figure.matches(leaves)]


def unbacked(block):
    """A line if the block has figures, names no report and is not said to be not re-measured."""
    if backing(block) or not block.figures() or block.says_not_remeasured() or block.covered_by_section:
        return []
    if block.kind == "row" and block.caption is not None and block.caption.opens_with_the_marker():
        return []
    shown = ", ".join(figure.text for figure in block.figures()[:4])
    return [f"{block.where}: figures ({shown}) name no report in docs/reports/ and are not marked '{MARKER}': "
            f"{block.text[:160]}"]


# --- the reports themselves -------------------------------------------------------------------------------

REPORT_FILES = sorted(REPORTS.glob("*.json"))


def take(record, path):
    """A value inside a JSON record by a dotted path with list indexes: `history.seconds[-1]`."""
    value = record
    for part in re.findall(r"[^.\[\]]+|\[-?\d+\]", path):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value


def derive(rule):
    """Recompute one derived figure from committed files: `files` (globs), `take` (a path in each),
    `measure` ("length": of a list, optional), `combine` (one, sum, min, max, count, mean), `divide_by`
    (optional)."""
    files = sorted(path for pattern in rule["files"] for path in glob.glob(str(REPO / pattern)))
    assert files, f"no committed file matches {rule['files']}"
    values = [take(json.loads(Path(path).read_text()), rule["take"]) for path in files]
    if rule.get("measure") == "length":
        values = [len(value) for value in values]
    combine = rule.get("combine", "one")
    if combine == "one":
        assert len(values) == 1, f"{rule['files']} matches {len(files)} files, one expected"
        result = values[0]
    elif combine == "count":
        result = len(values)
    elif combine == "mean":
        result = sum(values) / len(values)
    else:
        result = {"sum": sum, "min": min, "max": max}[combine](values)
    return result / rule["divide_by"] if "divide_by" in rule else result


def test_reports_exist_and_are_small():
    assert REPORT_FILES, "docs/reports/ holds no report"
    for path in REPORT_FILES:
        assert path.stat().st_size < 20_000, f"{path.name} is {path.stat().st_size} bytes: a report should be small"


@pytest.mark.parametrize("path", REPORT_FILES, ids=[path.name for path in REPORT_FILES])
def test_each_report_says_what_ran_where_and_when(path):
    report = json.loads(path.read_text())
    absent = [key for key in REQUIRED if not report.get(key)]
    assert not absent, f"{path.name} lacks {absent}"
    assert re.match(r"\d{4}-\d{2}-\d{2}", report["date"]), f"{path.name}: date {report['date']!r} is not YYYY-MM-DD..."
    assert numeric_leaves(report["figures"]), f"{path.name} holds no number"
    for name, item in report.get("compared_with", {}).items():
        assert isinstance(item, dict) and item.get("source"), f"{path.name}: compared_with.{name} names no source"


@pytest.mark.parametrize("path", REPORT_FILES, ids=[path.name for path in REPORT_FILES])
def test_derived_figures_equal_the_committed_files_they_come_from(path):
    report = json.loads(path.read_text())
    for name, rule in report.get("derived", {}).items():
        expected = derive(rule)
        stated = take(report["figures"], name)
        assert math.isclose(stated, expected, rel_tol=1e-6, abs_tol=1e-9), (
            f"{path.name}: figures.{name} is {stated}, but {rule['take']} of {rule['files']} gives {expected}")


def test_every_report_is_named_by_the_docs():
    named = {name for block in ALL_BLOCKS for name in block.reports()}
    orphans = [path.name for path in REPORT_FILES if f"docs/reports/{path.name}" not in named]
    assert not orphans, f"reports no text names: {orphans}"


# --- the text against the reports ---------------------------------------------------------------------------

def test_the_reader_finds_blocks_figures_and_reports():
    """The parser sees what it should (a broken pattern would otherwise pass everything)."""
    rows = [block for block in ALL_BLOCKS if block.kind == "row"]
    assert len(rows) > 100 and len(ALL_BLOCKS) > 300, (len(rows), len(ALL_BLOCKS))
    assert sum(1 for block in ALL_BLOCKS if block.reports()) >= 10
    texts = [figure.text for figure in figures_in("took 1 min 13 s, 0.9852 (0.9826-0.9874), 3,513x, 35 min, 185 ms, "
                                                 "60,287 px/s and 8439/8972 on TensorFlow 2.21 and Keras 3.15.1 "
                                                 "in 10x10, 2,000 images, 12 epochs: 0.9751.")]
    assert texts == ["1 min 13 s", "0.9852", "0.9826", "0.9874", "3,513x", "35 min", "185 ms", "60,287 px/s",
                     "8439/8972", "0.9751"], texts


def test_every_figure_matches_the_report_its_text_names():
    problems = [problem for block in ALL_BLOCKS for problem in mismatches(block)]
    assert not problems, "\n".join(problems)


def test_every_result_names_a_report_or_says_it_was_not_remeasured():
    problems = [problem for block in ALL_BLOCKS for problem in unbacked(block)]
    assert not problems, f"{len(problems)} blocks:\n" + "\n".join(problems)


def test_changing_any_checked_figure_fails_the_check():
    """Each figure compared with a report, its last digit changed in the markdown itself, is caught: the
    check reads every figure it claims to (one that an altered digit makes equal to another figure of the
    same report is tried with the next digit)."""
    checked = 0
    for block in ALL_BLOCKS:
        names = backing(block)
        if not names or mismatches(block):
            continue
        leaves = report_leaves(names)
        for figure in block.checked_figures():
            end = figure.start + max(at for at, character in enumerate(figure.text) if character.isdigit()) + 1
            for step in range(1, 10):
                altered_text = block.text[: end - 1] + str((int(block.text[end - 1]) + step) % 10) + block.text[end:]
                altered = Block(block.path, block.line, altered_text, block.kind, block.caption)
                same_place = [other for other in altered.checked_figures() if other.start == figure.start]
                if same_place and not same_place[0].matches(leaves):
                    break
            assert mismatches(altered), f"{block.where}: {figure.text!r} altered to {altered_text[figure.start:end]!r} passed"
            checked += 1
    assert checked >= 40, checked


def test_the_headline_is_what_the_shipped_folders_report_holds():
    """The README's conditional-cpu row quotes trained/conditional/classification.json."""
    shipped = load("trained/conditional/classification.json")
    rows = [block for block in blocks(REPO / "README.md")
            if block.kind == "row" and "--recipe conditional-cpu" in block.text and "classification.py" in block.text]
    assert rows, "the README's results table has no conditional-cpu row"
    for row in rows:
        assert f"**{shipped['accuracy']:.4f}**" in row.text, row.text
        low, high = shipped["accuracy_95ci"]
        assert f"({low:.4f}-{high:.4f})" in row.text, row.text
