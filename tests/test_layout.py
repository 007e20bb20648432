"""The tests' own layout: what tests share lives in tests/support/, and nothing imports a
test module or a conftest (pytest loads those itself; importing one runs it twice, under two
names, and ties one test file to another's internals). Benchmarks and scripts use the same
support code, or bench/harness.py, never another benchmark."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, relative ones made absolute; for
    `from package import name`, the name too, as it may be a module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "corpus" not in p.relative_to(ROOT).parts)


def is_support(module: str) -> bool:
    return module == "tests.support" or module.startswith("tests.support.")


def test_tests_import_only_the_support_package() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(TESTS)
        for line, module in imported(path)
        if module.split(".")[0] == "tests" and module != "tests" and not is_support(module)
    ]
    assert not wrong, "test code imports a test module or a conftest:\n" + "\n".join(wrong)


def test_bench_and_scripts_import_no_test_module_and_no_other_benchmark() -> None:
    benchmarks = {p.stem for p in (ROOT / "bench").glob("*.py")}
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(ROOT / "bench") + python_files(ROOT / "scripts")
        for line, module in imported(path)
        if (module.split(".")[0] == "tests" and module != "tests" and not is_support(module))
        or (module.split(".")[0] in benchmarks - {"harness"})
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("folder", [TESTS, ROOT / "bench"], ids=["tests", "bench"])
def test_the_checks_above_see_the_imports(folder: Path) -> None:
    """Against a check that reads nothing: the support package is imported everywhere."""
    found = {module for path in python_files(folder) for _line, module in imported(path)}
    assert any(is_support(m) for m in found), found


def test_helpers_outside_test_modules_live_in_support() -> None:
    stray = [
        str(path.relative_to(ROOT))
        for path in python_files(TESTS)
        if SUPPORT not in path.parents
        and not path.name.startswith("test_")
        and path.name not in ("conftest.py", "__init__.py")
    ]
    assert not stray, f"move these into tests/support/: {stray}"


def test_conftest_files_hold_fixtures_and_hooks_only() -> None:
    def fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if ast.unparse(target) in ("pytest.fixture", "pytest.hookimpl"):
                return True
        return node.name.startswith("pytest_")

    wrong = []
    for path in TESTS.rglob("conftest.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) or (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not fixture(node)
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not wrong, "helpers belong in tests/support/: " + ", ".join(wrong)
