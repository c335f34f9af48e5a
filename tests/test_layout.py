"""The package layout is the architecture: no import circle, no import hidden inside a function to dodge one."""

import ast
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "o1_lightning"


def test_no_module_imports_itself_through_a_circle():
    graph = grimp.build_graph("o1_lightning")
    circles = [
        module
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert circles == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_level_import_of_the_package(path):
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    hidden = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("o1_lightning")
        and id(node) not in top_level
    ]
    assert hidden == [], f"{path.name}: imports of o1_lightning inside functions at lines {hidden}"
