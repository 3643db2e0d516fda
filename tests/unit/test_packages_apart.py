"""IPS and the simulated bank reach each other only over the wire: neither package imports
the other, and ``paywire``, which both speak, imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FORBIDDEN = {"ips": {"demobank"}, "demobank": {"ips"}, "paywire": {"ips", "demobank"}}


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports, wherever in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_the_other_side(package: str) -> None:
    crossing = {
        str(path.relative_to(SRC)): sorted(imported(path) & FORBIDDEN[package])
        for path in (SRC / package).rglob("*.py")
        if imported(path) & FORBIDDEN[package]
    }
    assert crossing == {}
