"""The dependency rules of DESIGN.md, read from the source's imports (every import, including the
ones inside functions): stages never import each other, shared parts never import a stage,
nothing imports the CLI layer, the reward system imports no torch, no module imports itself back
through others, and no source file grows past 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "thinkvl"
STAGES = {"rl", "train", "eval", "annotate", "demo"}
SHARED = {"runtime", "model", "data", "rewards", "track", "format", "report", "config"}
CLI = {"cli", "commands"}
# Who may import which stage: the demo orchestrates them all; RL and SFT evaluate held-out data.
ALLOWED = {("demo", s) for s in STAGES} | {("rl", "eval"), ("train", "eval")}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}
assert len(MODULES) > 50, f"found {len(MODULES)} modules under {SRC}: the layout checks would check nothing"


def imports(path: Path) -> list[tuple[str, int]]:
    """``(module, line)`` of every thinkvl module that ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                root = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(root + ([base] if base else []))
            # ``from thinkvl.a import b`` imports the module thinkvl.a.b when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found += [(n, node.lineno) for n in names if n == "thinkvl" or n.startswith("thinkvl.")]
    return found


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_stages_shared_parts_and_the_cli_layer_import_only_downwards():
    broken = []
    for name, path in MODULES.items():
        here = part_of(name)
        for target, line in imports(path):
            there = part_of(target)
            where = f"{path.relative_to(SRC.parent)}:{line} imports {target}"
            if there in CLI and here not in CLI:
                broken.append(f"{where} (nothing imports the CLI layer)")
            elif here in STAGES and there in STAGES and here != there and (here, there) not in ALLOWED:
                broken.append(f"{where} (stages never import each other)")
            elif here in SHARED and there in STAGES:
                broken.append(f"{where} (shared parts never import a stage)")
    assert not broken, "\n".join(broken)


def test_the_reward_system_imports_no_torch():
    found = []
    for path in (SRC / "rewards").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(SRC.parent)}:{node.lineno}" for n in names
                      if n == "torch" or n.startswith("torch.")]
            found += [f"{path.relative_to(SRC.parent)}:{node.lineno} imports {n}" for n in names
                      if n.startswith("thinkvl.") and part_of(n) not in {"rewards", "format", "config"}]
    assert not found, "\n".join(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_no_import_cycles():
    graph = {name: {t for t, _ in imports(path) if t in MODULES and t != name} for name, path in MODULES.items()}
    # a package's __init__ re-exporting its own modules is not a cycle worth breaking
    for name in graph:
        graph[name] = {t for t in graph[name] if not (MODULES[t].name == "__init__.py" and name.startswith(t + "."))}
    assert not cycles(graph), "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles(graph))


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_source_file_over_500_lines():
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES.values()}
    big = [f"{p.relative_to(SRC.parent)}: {n} lines" for p, n in sorted(sizes.items()) if n > MAX_LINES]
    assert not big, "split these by job:\n" + "\n".join(big)


def test_test_modules_have_unique_names():
    """pytest imports test files by basename (no packages under tests/): two test_x.py in
    different folders stop the whole suite at collection."""
    tests = Path(__file__).resolve().parent
    seen: dict[str, list[str]] = {}
    for path in tests.rglob("test_*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(tests)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"
