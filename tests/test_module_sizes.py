"""The size rule of the developer guide, held from now on: a product module passes 400 lines, or a
function 80 lines, only with a written reason.

The reason is a line `# size: <reason>`: for a module, within its first 30 lines; for a function,
on the line just before its `def` (above any decorators), or in its docstring, where it is written
`size: <reason>` on a line of its own. Product code is api/, web/, trace/, ledger/ and client/.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("api", "web", "trace", "ledger", "client")
MODULE_LINES = 400
FUNCTION_LINES = 80
MODULE_HEAD = 30
_REASON = re.compile(r"#\s*size:\s*\S")

# Over the limit and not yet given a reason, because their owners are editing them at the time of
# writing (the shared-tree rules keep others out). Each entry must still be needed: the test fails
# once the module is back under the limit or carries its reason, so the list only shrinks.
PENDING: dict[str, str] = {}


def oversized(root: Path) -> list[str]:
    """Every module and function of the product code under `root` over its limit without a reason,
    as "path: what" lines (path relative to `root`)."""
    found = []
    for top in PRODUCT:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            if len(lines) > MODULE_LINES and not any(_REASON.search(x) for x in lines[:MODULE_HEAD]):
                found.append(f"{rel}: module of {len(lines)} lines")
            for node in ast.walk(ast.parse(text, filename=rel)):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_LINES and not _function_reason(node, lines):
                    found.append(f"{rel}: {node.name}() of {length} lines (line {node.lineno})")
    return found


def _function_reason(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> bool:
    doc = ast.get_docstring(node, clean=False) or ""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    before = lines[first - 2] if first >= 2 else ""
    return bool(re.search(r"(^|\n)\s*(#\s*)?size:\s*\S", doc)) or bool(_REASON.search(before))


def test_no_module_or_function_passes_its_limit_without_a_reason():
    found = [line for line in oversized(ROOT) if line.split(":")[0] not in PENDING]
    assert found == [], "write `# size: <reason>` or split by meaning:\n" + "\n".join(found)


def test_every_pending_entry_is_still_needed():
    over = {line.split(":")[0] for line in oversized(ROOT)}
    assert set(PENDING) <= over, f"no longer over the limit or now with a reason: {set(PENDING) - over}"


@pytest.fixture
def tree(tmp_path):
    """A copy of the product code, to break on purpose."""
    for top in PRODUCT:
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__", "static"))
    return tmp_path


def _long_function(n: int, *, doc: str = "", before: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(n - 2 - bool(doc)))
    head = f'    """{doc}"""\n' if doc else ""
    return f"\n\n{before}def sprawling():\n{head}{body}    return 0\n"


def test_a_long_function_without_a_reason_is_found(tree):
    target = tree / "trace" / "clock.py"
    target.write_text(
        target.read_text(encoding="utf-8") + _long_function(FUNCTION_LINES + 1), encoding="utf-8"
    )
    assert [x for x in oversized(tree) if x.startswith("trace/clock.py")] == [
        f"trace/clock.py: sprawling() of {FUNCTION_LINES + 1} lines (line {len(target.read_text().splitlines()) - FUNCTION_LINES})"
    ]


@pytest.mark.parametrize(
    "reason",
    [
        {"doc": "Pure data.\n\n    size: a table of cases, one per line\n    "},
        {"before": "# size: a table of cases, one per line\n"},
    ],
)
def test_a_long_function_with_a_reason_passes_and_one_line_shorter_needs_none(tree, reason):
    target = tree / "trace" / "clock.py"
    original = target.read_text(encoding="utf-8")
    target.write_text(original + _long_function(FUNCTION_LINES + 20, **reason), encoding="utf-8")
    assert not [x for x in oversized(tree) if x.startswith("trace/clock.py")]
    target.write_text(original + _long_function(FUNCTION_LINES), encoding="utf-8")
    assert not [x for x in oversized(tree) if x.startswith("trace/clock.py")]


def test_a_long_module_without_a_reason_is_found_and_one_with_a_reason_passes(tree):
    target = tree / "web" / "assets.py"
    original = target.read_text(encoding="utf-8")
    padding = "\n" * (MODULE_LINES + 1 - len(original.splitlines()))
    target.write_text(original + padding, encoding="utf-8")
    assert [x for x in oversized(tree) if x.startswith("web/assets.py")] == [
        f"web/assets.py: module of {MODULE_LINES + 1} lines"
    ]
    target.write_text("# size: padded on purpose by this test\n" + original + padding, encoding="utf-8")
    assert not [x for x in oversized(tree) if x.startswith("web/assets.py")]
    # a reason below the first 30 lines does not count
    target.write_text(original + "\n" * 30 + "# size: too late to be read\n" + padding, encoding="utf-8")
    assert [x for x in oversized(tree) if x.startswith("web/assets.py")]
