"""A small mutation run: do the tests guard the policy?

Each mutant changes one thing in one module (flip a comparison, swap and/or, drop a ``not``,
negate an ``if``, make a predicate return True or False, delete a ``raise`` or a call), then
runs the tests chosen for that module; a mutant is killed when they fail. Mutants are
written into private copies of the project under the temporary directory (one per job),
never into the working tree.

    .venv/bin/python -m tools.mutate                      # every module below
    .venv/bin/python -m tools.mutate rules/policy.py      # one module
    .venv/bin/python -m tools.mutate --list models/scope.py   # mutants only, no tests run

Prints each surviving mutant (file:line and what changed) and the score.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: module → the tests that guard it (kept small: each mutant runs them once).
TARGETS = {
    "rules/permissions.py": ["tests/test_policy.py", "tests/test_workflow_rules.py",
                             "tests/test_authorisation.py", "tests/test_staff_console.py"],
    "rules/policy.py": ["tests/test_policy.py", "tests/test_authorisation.py",
                        "tests/test_talent_filing.py", "tests/test_catalogue_upgrade.py"],
    "models/scope.py": ["tests/test_authorisation.py", "tests/test_scope.py"],
    "models/operations.py": ["tests/test_authorisation.py", "tests/test_filing.py",
                             "tests/test_review.py", "tests/test_accounts.py",
                             "tests/test_talent_filing.py"],
    "models/storage.py": ["tests/test_storage.py", "tests/test_attachment_storage.py"],
    "rules/search.py": ["tests/test_search.py", "tests/test_staff_console.py"],
    "models/search.py": ["tests/test_search.py", "tests/test_staff_console.py",
                         "tests/test_schema.py"],
    "rules/phones.py": ["tests/test_phones.py"],
    "models/login_phones.py": ["tests/test_phones.py"],
    "models/phones.py": ["tests/test_phones.py"],
    "models/upgrade.py": ["tests/test_accounts.py"],
    "models/deliveries.py": ["tests/test_unit_home.py"],
    "models/scheduled.py": ["tests/test_scheduled.py"],
    "models/jobs.py": ["tests/test_jobs.py"],
    "rules/imports.py": ["tests/test_spreadsheet_damage.py", "tests/test_imports.py"],
    "models/bulk.py": ["tests/test_imports.py"],
}

#: Pure modules are first tried in this process against the pure tests (no app, no
#: database: milliseconds a mutant); only their survivors go on to the full selection.
PURE_TESTS = ["tests/test_policy.py"]
PURE = {"rules/permissions.py", "rules/policy.py"}

_FLIP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
         ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
         ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass
class Mutant:
    line: int
    what: str
    tree: ast.Module


def _docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and \
        isinstance(node.value.value, str)


def _boolean(value) -> bool:
    """Does this return look like a predicate's answer?"""
    return isinstance(value, ast.Compare | ast.BoolOp) or \
        isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not) or \
        isinstance(value, ast.Constant) and isinstance(value.value, bool) or \
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute) and \
        (getattr(value.func, "id", None) or value.func.attr).startswith(
            ("may_", "is_", "in_", "any", "all", "bool", "owns_", "staff_may", "name_"))


def _kinds(node) -> list[str]:
    """The mutations that apply to ``node``."""
    if isinstance(node, ast.Compare):
        return [f"flip {j}" for j, op in enumerate(node.ops) if type(op) in _FLIP]
    if isinstance(node, ast.BoolOp):
        return ["and/or"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ["drop not"]
    if isinstance(node, ast.If | ast.While | ast.IfExp):
        return ["negate"]
    if isinstance(node, ast.Return) and _boolean(node.value):
        return ["return True", "return False"]
    if isinstance(node, ast.Raise):
        return ["delete raise"]
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not _docstring(node):
        return ["delete call"]
    return []


def _replace(tree, old, new) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return


def _apply(tree, node, kind) -> str:
    """Mutate ``node`` (inside ``tree``) by ``kind``; returns a description."""
    if kind.startswith("flip"):
        j = int(kind.split()[1])
        before = type(node.ops[j])
        node.ops[j] = _FLIP[before]()
        return f"{before.__name__} → {type(node.ops[j]).__name__}"
    if kind == "and/or":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return "and ↔ or"
    if kind == "drop not":
        _replace(tree, node, node.operand)
        return "drop not"
    if kind == "negate":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        return "negate condition"
    if kind.startswith("return"):
        node.value = ast.Constant(kind == "return True")
        return kind
    _replace(tree, node, ast.copy_location(ast.Pass(), node))
    return kind


def mutants(source: str) -> list[Mutant]:
    """Every single-change mutant of ``source``."""
    tree = ast.parse(source)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        for kind in _kinds(node):
            copy_ = copy.deepcopy(tree)
            target = next(n for i, n in enumerate(ast.walk(copy_)) if i == index)
            what = _apply(copy_, target, kind)
            found.append(Mutant(getattr(node, "lineno", 0), what,
                                ast.fix_missing_locations(copy_)))
    return found


def _dedupe(found: list[Mutant], original: str) -> list[Mutant]:
    seen, unique = {ast.unparse(ast.parse(original))}, []
    for mutant in found:
        text = ast.unparse(mutant.tree)
        if text not in seen:
            seen.add(text)
            unique.append(mutant)
    return unique


def _workspace(n: int) -> Path:
    """A private copy of the project for one worker (mutants are written there, never here)."""
    target = Path(tempfile.gettempdir()) / f"mutate-{os.getpid()}-{n}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".venv", ".git", "instance", "__pycache__", ".pytest_cache", ".ruff_cache"))
    return target


def _killed(workspace: Path, module: str, tree: ast.Module, tests: list[str],
            timeout: int) -> bool:
    path = workspace / module
    original = (ROOT / module).read_text()
    path.write_text(ast.unparse(tree) + "\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DATABASE_URL": ""}
    env.pop("DATABASE_URL")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=workspace, env=env, capture_output=True, timeout=timeout)
        return result.returncode != 0
    except subprocess.TimeoutExpired:
        return True  # a mutant that hangs the tests is caught by them
    finally:
        path.write_text(original)


def _pure_killed(module: str, tree: ast.Module) -> bool:
    """Run the pure tests in this process with the mutant in place of ``module``."""
    name = module.removesuffix(".py").replace("/", ".")
    ours = [k for k in sys.modules if k.split(".")[0] in ("rules", "tests")]
    saved = {k: sys.modules.pop(k) for k in ours}
    mutant = types.ModuleType(name)
    mutant.__file__ = str(ROOT / module)
    sys.modules[name] = mutant
    try:
        exec(compile(tree, str(ROOT / module), "exec"), mutant.__dict__)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "--noconftest",
                                *PURE_TESTS])
        return code != 0
    except Exception:
        return True  # the mutant does not even import: the tests would fail
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] in ("rules", "tests")]:
            del sys.modules[k]
        sys.modules.update(saved)


def run(module: str, tests: list[str], timeout: int, listing: bool,
        workspaces: queue.Queue | None, sample: int = 1,
        lines: set[int] | None = None) -> tuple[int, list]:
    original = (ROOT / module).read_text()
    found = _dedupe(mutants(original), original)[::sample]
    if lines:
        found = [m for m in found if m.line in lines]
    if module in PURE and not listing:
        before = len(found)
        pending = [m for m in found if not _pure_killed(module, m.tree)]
        print(f"  {module}: {before - len(pending)}/{before} killed by the pure tests",
              flush=True)
        killed_pure = before - len(pending)
        count, survivors = _run_full(module, pending, tests, timeout, workspaces)
        return count + killed_pure, survivors
    if listing:
        for m in found:
            print(f"{module}:{m.line}  {m.what}")
        return len(found), []
    return _run_full(module, found, tests, timeout, workspaces)


def _run_full(module, found, tests, timeout, workspaces) -> tuple[int, list]:
    survivors, done = [], [0]
    if not found:
        return 0, []

    def one(mutant: Mutant):
        workspace = workspaces.get()
        try:
            killed = _killed(workspace, module, mutant.tree, tests, timeout)
        finally:
            workspaces.put(workspace)
        done[0] += 1
        print(f"  [{done[0]}/{len(found)}] {module}:{mutant.line} {mutant.what}: "
              f"{'killed' if killed else 'SURVIVED'}", flush=True)
        return mutant, killed

    with ThreadPoolExecutor(workspaces.qsize()) as pool:
        for mutant, killed in pool.map(one, found):
            if not killed:
                survivors.append(mutant)
    return len(found), survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS))
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--sample", type=int, default=1,
                        help="run every Nth mutant only (a bounded, deterministic sample)")
    parser.add_argument("--lines", default="",
                        help="only mutants on these lines (comma-separated): re-check survivors")
    args = parser.parse_args()
    started, total, survived = time.monotonic(), 0, []
    workspaces: queue.Queue = queue.Queue()
    if not args.list:
        for n in range(args.jobs):
            workspaces.put(_workspace(n))
    try:
        for module in args.modules:
            count, survivors = run(module, TARGETS[module], args.timeout, args.list,
                                   workspaces, args.sample,
                                   {int(n) for n in args.lines.split(",") if n})
            total += count
            survived += [(module, m) for m in survivors]
    finally:
        while not workspaces.empty():
            shutil.rmtree(workspaces.get(), ignore_errors=True)
    if args.list:
        print(f"{total} mutants")
        return 0
    for module, mutant in survived:
        print(f"SURVIVED {module}:{mutant.line} {mutant.what}")
    killed = total - len(survived)
    print(f"{killed}/{total} mutants killed ({100 * killed / max(total, 1):.1f}%) in "
          f"{time.monotonic() - started:.0f} s")
    return 0 if killed >= 0.9 * total else 1


if __name__ == "__main__":
    sys.exit(main())
