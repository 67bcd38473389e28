"""The layout stays what the README's "How the code is laid out" says: no import
circle in the product, no module past 450 lines, a pure core, nothing in the core
importing the CLI, XenAPI imported by the XAPI client alone, and the README's tree
equal to the package's files. Read with ast only: nothing of the product is
imported."""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO, "dom0-plugin")
PACKAGE = "csguard"
MAX_LINES = 450
# The only modules that may import the CLI: the plugin runs its commands, and
# `python -m csguard` is the CLI.
CLI_USERS = {"csguard.hostplugin", "csguard.__main__"}
# Computed from a record and the configuration, tested without a server.
PURE_CORE = {"csguard.records", "csguard.classify", "csguard.plan", "csguard.plan_affinity",
             "csguard.options", "csguard.optionvalues", "csguard.optionchecks",
             "csguard.auditlog"}
IO_MODULES = {"os", "io", "socket", "subprocess", "http", "xmlrpc", "urllib.request",
              "XenAPI", "yaml", "sdnotify", "tempfile", "shutil", "signal", "threading"}


def product_modules(source=SOURCE, package=PACKAGE):
    """{dotted module name: file path} of every module of the package."""
    modules = {}
    for directory, subdirs, files in os.walk(os.path.join(source, package)):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, source)[:-len(".py")].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(name, path, modules):
    """The modules of `modules` that module `name` imports anywhere in its code
    (a deferred import inside a function closes a circle just the same), and the
    top-level names of everything else it imports."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    is_package = os.path.basename(path) == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return found


def import_graph(modules):
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """One import circle as [a, b, ..., a], or None. Only edges between the
    graph's own modules count."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in graph:
                continue
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def readme_tree(text):
    """The package's file paths (relative to dom0-plugin/csguard/) listed in the
    README's "How the code is laid out" block, one name a line, two spaces a level."""
    section = text.split("## How the code is laid out", 1)[1]
    block = section.split("```", 2)[1]
    lines = iter(block.splitlines())
    for line in lines:
        if line.startswith("dom0-plugin/csguard/"):
            break
    paths, folders = set(), []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or indent == 0:
            break
        word = line.split()[0]
        if not word.endswith((".py", "/")):
            continue  # a description running on to the next line
        depth = indent // 2
        del folders[depth - 1:]
        if word.endswith("/"):
            folders.append(word)
        else:
            paths.add("".join(folders) + word)
    return paths


MODULES = product_modules()
GRAPH = import_graph(MODULES)


def test_the_product_has_no_import_circle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_the_limit(name):
    with open(MODULES[name], encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    assert lines <= MAX_LINES, f"{name}: {lines} lines; split it by job"


def test_nothing_in_the_core_imports_the_cli():
    users = {name for name, targets in GRAPH.items() if not name.startswith("csguard.cli")
             for target in targets if target == "csguard.cli"
             or target.startswith("csguard.cli.")}
    assert users <= CLI_USERS


def test_only_the_xapi_client_imports_xenapi():
    users = {name for name, targets in GRAPH.items()
             if any(t == "XenAPI" or t.startswith("XenAPI.") for t in targets)}
    assert users == {"csguard.xapi"}


def test_the_pure_core_imports_nothing_that_does_io():
    for name in PURE_CORE:
        ours = {t for t in GRAPH[name] if t.split(".")[0] == PACKAGE}
        assert ours <= PURE_CORE, f"{name} imports {sorted(ours - PURE_CORE)}"
        io = {t for t in GRAPH[name] if t in IO_MODULES or t.split(".")[0] in IO_MODULES}
        assert not io, f"{name} imports {sorted(io)}"


def test_the_readme_lists_every_module_of_the_package():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        listed = readme_tree(handle.read())
    package = os.path.join(SOURCE, PACKAGE)
    actual = {os.path.relpath(path, package).replace(os.sep, "/")
              for path in MODULES.values()}
    assert listed == actual, (f"only in the README: {sorted(listed - actual)}; "
                              f"only in the tree: {sorted(actual - listed)}")


# ---- the checks themselves catch what they are for ----

def _write(root, files):
    for relative, text in files.items():
        path = os.path.join(str(root), relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def test_a_circle_through_a_deferred_import_is_found(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "import os\n\ndef f():\n    from pkg.sub import c\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from ..a import thing\n",
    })
    graph = import_graph(product_modules(str(tmp_path), "pkg"))
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_a_tree_without_circle_passes(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import x\n",
        "pkg/a.py": "from pkg import b\nimport XenAPI\n",
        "pkg/b.py": "from . import c\n",
        "pkg/c.py": "",
    })
    graph = import_graph(product_modules(str(tmp_path), "pkg"))
    assert graph["pkg.b"] == {"pkg.c"} and "XenAPI" in graph["pkg.a"]
    assert find_cycle(graph) is None


def test_the_readme_tree_reads_folders_and_skips_wrapped_descriptions():
    text = """\
## How the code is laid out
```
dom0-plugin/csguard/   the package
  a.py                 one job,
                       described on two lines
  sub/                 a folder
    __init__.py        its entry
    b.py               another
  c.py                 back at the top
tests/                 not the package
```
"""
    assert readme_tree(text) == {"a.py", "sub/__init__.py", "sub/b.py", "c.py"}
