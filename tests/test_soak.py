"""benchmarks/soak.py, shortened: repeated resume-state loads and generator loads in one process
leak neither file descriptors nor memory (issue 7, item 6)."""

import subprocess
import sys

import pytest

from conftest import REPO, cli_env


@pytest.mark.slow
def test_soak_short(tiny_run):
    p = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "soak.py"),
            "--iterations",
            "30",
            "--warmup",
            "10",
            "--run",
            str(tiny_run),
        ],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert p.stdout.strip().splitlines()[-1] == "PASS", p.stdout
    assert "fds +0" in p.stdout, p.stdout
