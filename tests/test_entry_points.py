"""Every command the README and docs show answers bad input in one line and exit code 2, the
scripts outside the package too."""

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow  # a fresh interpreter per script

CASES = [
    (["notebooks/execute.py", "missing.ipynb"], ["no notebook missing.ipynb", "01_quickstart"]),
    (["notebooks/execute.py", "--bogus"], ["no notebook --bogus"]),
    (["benchmarks/throughput.py", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["benchmarks/throughput.py", "--data", "/nonexistent.npz"], ["not found", "pass --data"]),
    (["benchmarks/time_to_quality.py", "--budget", "x"], ["--budget: invalid float value"]),
    (
        ["benchmarks/time_to_quality.py", "--json", "/nonexistent/x.json", "--data", "sample"],
        ["cannot write /nonexistent/x.json", "--json"],
    ),
    (["benchmarks/generate_speed.py", "--n", "x"], ["--n: invalid int value"]),
    (["benchmarks/demo_latency.py", "--repeats", "x"], ["--repeats: invalid int value"]),
    (["benchmarks/soak.py", "--bogus"], ["unrecognized arguments"]),
    (["benchmarks/profile_step.py", "--bogus"], ["unrecognized arguments"]),
]


@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_script_answers_bad_input_in_one_line(argv, words, python_cli, tmp_path):
    p = python_cli(REPO / argv[0], *argv[1:], cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not list(tmp_path.iterdir())
