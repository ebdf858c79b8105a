"""benchmarks/soak.py, shortened: repeated resume-state loads and generator loads in one process
leak neither file descriptors nor memory (issue 7, item 6)."""

import pytest

from conftest import REPO, run_python


@pytest.mark.slow
def test_soak_short(tiny_run):
    p = run_python(
        REPO / "benchmarks" / "soak.py", "--iterations", "30", "--warmup", "10", "--run", tiny_run
    )
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert p.stdout.strip().splitlines()[-1] == "PASS", p.stdout
    assert "fds +0" in p.stdout, p.stdout
