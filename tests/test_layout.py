"""Repository-wide promises: pinned environments agree, source notebooks stay clean."""
import nbformat
import pytest
import yaml

from helpers import project

PROJECT = project()  # the committed code, not this checkout's dataset work
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.ipynb"))


def pip_lines(lines):
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_conda_and_pip_pin_the_same_packages():
    conda = yaml.safe_load((PROJECT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    requirements = (PROJECT / "requirements.txt").read_text().splitlines()
    assert pip_lines(pip_section) == pip_lines(requirements)
    assert "python=3.11" in conda["dependencies"]


def test_every_requirement_is_pinned():
    lock = (PROJECT / "code/container/requirements.lock").read_text().splitlines()
    requirements = (PROJECT / "requirements.txt").read_text().splitlines()
    for line in pip_lines(lock) | pip_lines(requirements):
        assert line.startswith(("-r ", "./code/")) or "==" in line, line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_notebooks_have_no_outputs_and_one_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert not any(c.outputs or c.execution_count for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1


def test_no_init_in_code_folder():
    assert not (PROJECT / "code/__init__.py").exists()  # `code` is a standard-library module


def test_this_environment_has_the_containers_pins():
    """JupyterLab's kernel (.venv) runs the notebooks with the very versions of the container."""
    from importlib import metadata

    lock = pip_lines((PROJECT / "code/container/requirements.lock").read_text().splitlines())
    for line in lock:
        name, version = line.split("==")
        assert metadata.version(name) == version, name


def test_test_modules_have_unique_basenames():
    """pytest imports test modules by basename (rootdir-relative, no packages): two of one name
    stop the whole run at collection."""
    seen: dict[str, str] = {}
    for path in sorted((PROJECT / "tests").rglob("test_*.py")):
        relative = path.relative_to(PROJECT).as_posix()
        assert path.name not in seen, f"{relative} and {seen[path.name]}: rename one"
        seen[path.name] = relative


def sibling_imports(path, package: str) -> set[str]:
    """The modules of ``package`` that a module imports, at any depth of its code."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
            found.add(node.module.split(".")[2])
    return found


def test_the_sweep_packages_table_of_contents_is_its_layering():
    """pipeline/sweep/__init__ lists its modules; each imports only modules listed above it (no
    import runs back up), and __init__ imports none."""
    import re

    folder = PROJECT / "code/pipeline/sweep"
    init = (folder / "__init__.py").read_text()
    order = re.findall(r"^    (\w+) {2,}", init, re.MULTILINE)
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    assert sorted(order) == modules
    assert not sibling_imports(folder / "__init__.py", "pipeline.sweep")
    for index, name in enumerate(order):
        below = sibling_imports(folder / f"{name}.py", "pipeline.sweep") - set(order[:index])
        assert not below, f"sweep/{name}.py imports {sorted(below)}, listed below it"
