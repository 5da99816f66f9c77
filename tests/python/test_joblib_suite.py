"""joblib's own test_parallel.py, run with the "parmap" backend, compared with "threading".

joblib's maintainers wrote test_parallel.py for every backend; its "threading" backend is
the one parmap's is a drop-in for (threads in this process, shared memory). The installed
module is run in a subprocess with parmap.joblib imported first, so every test over
joblib's registered backends runs with "parmap" too, from a copy that adds "parmap"
wherever joblib hard-codes "threading" (parameter lists, parent/child tuples, and tests that
call Parallel(backend="threading") get a `<name>_parmap` twin). Each test runs under a
per-test timeout, so a hang is a failure, not a stuck suite.

Every "parmap" test whose "threading" twin passes must pass, except those in
KNOWN_DIFFERENCES: tests that check one of joblib's own backends by name or class, or a
default parmap chose differently on purpose. Each of those must still fail (a stale entry
is an error), and each says why.
"""
import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("joblib")

PER_TEST_SECONDS = 30  # a hang fails its test; the slowest stock test takes ~2 s
SUITE_SECONDS = 900

# Tests (a regular expression over the test's id) where parmap's result differs from
# threading's, and why. Each must still fail somewhere, or the entry is stale.
KNOWN_DIFFERENCES = {
    r"test_nested_loop\[(loky|back_compat_backend)-parmap\]|test_backend_nesting_level\[\w+-parmap-loky\]": (
        "the inner Parallel(backend='parmap') runs in a loky worker process, which never imported "
        "parmap.joblib; 'threading' is built into joblib, so it is there"
    ),
    r"test_nested_backend_context_manager\[\w+-parmap\]|test_nested_parallelism_limit\[\w+-parmap\]": (
        "expects the first nested level to be joblib's ThreadingBackend; parmap runs nested "
        "Parallel calls sequentially, as its nested maps"
    ),
    r"test_effective_n_jobs_None_parmap\[None-": (
        "expects n_jobs=None under the backend's context to mean 1; parmap's default n_jobs is "
        "-1 (all cores, as dask's backend), and effective_n_jobs(None) says so"
    ),
    r"test_overwrite_default_backend_parmap$": (
        "makes the backend joblib's default and then asserts that the default's class is "
        "joblib's ThreadingBackend"
    ),
}


def known_difference(nodeid):
    test = nodeid.partition("::")[2]
    return next((p for p in KNOWN_DIFFERENCES if re.match(p, test)), None)


CONFTEST = textwrap.dedent(
    '''
    """Registers "parmap" before joblib's tests are collected; a per-test timeout; outcomes."""
    import json
    import os
    import signal

    import pytest

    import parmap.joblib  # noqa: F401 - registers the backend

    _outcomes = {}


    class SuiteTimeout(BaseException):
        """Not an Exception: no test's `except Exception` or raises(TimeoutError) takes it."""


    def _expired(signum, frame):
        raise SuiteTimeout(f"over {os.environ['PARMAP_SUITE_TIMEOUT']} s")


    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        signal.signal(signal.SIGALRM, _expired)
        signal.setitimer(signal.ITIMER_REAL, float(os.environ["PARMAP_SUITE_TIMEOUT"]))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


    def pytest_runtest_logreport(report):
        if report.failed:
            _outcomes[report.nodeid] = "failed"
        elif report.skipped:
            _outcomes.setdefault(report.nodeid, "skipped")
        elif report.when == "call":
            _outcomes.setdefault(report.nodeid, "passed")


    def pytest_sessionfinish(session):
        with open(os.environ["PARMAP_SUITE_OUTCOMES"], "w") as f:
            json.dump(_outcomes, f)
    '''
)


class _AddParmap(ast.NodeTransformer):
    """Adds "parmap" beside "threading" in backend lists and parent/child tuples."""

    @staticmethod
    def _is(node, value):
        return isinstance(node, ast.Constant) and node.value == value

    def visit_List(self, node):
        self.generic_visit(node)
        if any(self._is(e, "threading") for e in node.elts) and all(
                isinstance(e, ast.Constant) for e in node.elts):
            node.elts.append(ast.Constant("parmap"))
        elif all(isinstance(e, ast.Tuple) and e.elts for e in node.elts):
            for e in list(node.elts):
                if self._is(e.elts[0], "threading"):
                    node.elts.append(ast.Tuple([ast.Constant("parmap")] + e.elts[1:], ast.Load()))
        return node

    def visit_Compare(self, node):  # "the parent is a thread backend" checks
        self.generic_visit(node)
        if (isinstance(node.left, ast.Name) and node.left.id == "parent_backend"
                and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
                and self._is(node.comparators[0], "threading")):
            return ast.Compare(node.left, [ast.In()],
                               [ast.Tuple([ast.Constant("threading"), ast.Constant("parmap")], ast.Load())])
        return node


class _ThreadingToParmap(ast.NodeTransformer):
    """In a test's copy: every "threading" (the backend's name) becomes "parmap"."""

    def visit_Constant(self, node):
        return ast.Constant("parmap") if node.value == "threading" else node


def _passes_threading_by_call(fn):
    return any(isinstance(n, ast.Call) and any(
        isinstance(a, ast.Constant) and a.value == "threading"
        for a in list(n.args) + [k.value for k in n.keywords]) for n in ast.walk(fn))


def parmap_copy_of(source):
    """joblib's test module with "parmap" added wherever it hard-codes "threading"."""
    tree = _AddParmap().visit(ast.parse(source))
    twins = []
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_") and _passes_threading_by_call(fn):
            copy = _ThreadingToParmap().visit(ast.parse(ast.unparse(fn)).body[0])
            copy.name = fn.name + "_parmap"
            twins.append(copy)
    tree.body.extend(twins)
    return ast.unparse(ast.fix_missing_locations(tree))


def threading_twin(nodeid):
    """The id of the same test with "threading" where this one has "parmap"."""
    path, _, test = nodeid.partition("::")
    name, bracket, params = test.partition("[")
    name = name.removesuffix("_parmap")
    return f"{path}::{name}{bracket}{re.sub(r'(?<![A-Za-z_])parmap(?![A-Za-z_])', 'threading', params)}"


def test_the_copy_adds_parmap_beside_threading():
    src = textwrap.dedent(
        '''
        B = ["loky", "threading"]
        @parametrize("b, e", [("loky", True), ("threading", False)])
        def test_a(b, e):
            if parent_backend == "threading":
                pass
        def test_b():
            Parallel(n_jobs=2, backend="threading")
        def test_c():
            register_parallel_backend("threading", BACKENDS["threading"], make_default=True)
        '''
    )
    out = parmap_copy_of(src)
    assert "B = ['loky', 'threading', 'parmap']" in out
    assert "('parmap', False)" in out
    assert "parent_backend in ('threading', 'parmap')" in out
    assert "def test_b_parmap():" in out and "backend='parmap'" in out
    assert "def test_a_parmap" not in out
    assert "register_parallel_backend('parmap', BACKENDS['parmap'], make_default=True)" in out
    assert threading_twin("m.py::test_b_parmap") == "m.py::test_b"
    assert threading_twin("m.py::test_x[2-parmap-None]") == "m.py::test_x[2-threading-None]"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    spec = importlib.util.find_spec("joblib.test.test_parallel")
    if spec is None or spec.origin is None:
        pytest.skip("this joblib is installed without its tests (joblib.test.test_parallel)")
    with open(spec.origin) as f:
        source = f.read()
    folder = tmp_path_factory.mktemp("joblib-suite")
    (folder / "conftest.py").write_text(CONFTEST)
    copy = parmap_copy_of(source)
    (folder / "test_joblib_parallel.py").write_text(copy)
    # The tests that name a backend, and the originals of the _parmap copies.
    selection = " or ".join(["parmap", "threading"] + re.findall(r"^def (test_\w+)_parmap\(", copy, re.M))
    results = folder / "outcomes.json"
    env = dict(os.environ, PARMAP_SUITE_TIMEOUT=str(PER_TEST_SECONDS), PARMAP_SUITE_OUTCOMES=str(results))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-k", selection, "test_joblib_parallel.py"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=SUITE_SECONDS)
    if not results.exists():
        pytest.fail(f"joblib's suite did not finish (exit {run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    return json.loads(results.read_text()), run.stdout


def test_parmap_passes_wherever_threading_passes(outcomes):
    results, log = outcomes
    mine = {k: v for k, v in results.items() if threading_twin(k) != k}
    assert len(mine) >= 80, f"only {len(mine)} parmap tests ran:\n{log[-3000:]}"
    missing = sorted(k for k in mine if threading_twin(k) not in results)
    assert not missing, "no threading twin ran for:\n" + "\n".join(missing)
    differ = [k for k, v in mine.items() if v == "failed" and results.get(threading_twin(k)) == "passed"]
    unexplained = sorted(k for k in differ if known_difference(k) is None)
    assert not unexplained, "parmap fails where threading passes:\n" + "\n".join(unexplained) + "\n" + log[-6000:]


def test_known_differences_still_differ(outcomes):
    results, _ = outcomes
    for pattern, why in KNOWN_DIFFERENCES.items():
        ran = [v for k, v in results.items() if known_difference(k) == pattern]
        assert ran, f"no test matches {pattern} any more ({why})"
        assert "failed" in ran, f"{pattern} passes now: remove it from KNOWN_DIFFERENCES ({why})"
