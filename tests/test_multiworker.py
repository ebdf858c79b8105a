"""Two worker processes on this machine under MultiWorkerMirroredStrategy (TF_CONFIG), running the
real CLI: both finish, only the chief writes the run directory, both hold the same weights; and a
run killed mid-way (both workers, SIGKILL) resumes on both to the weights of an uninterrupted run.

About two minutes on two CPU cores: each worker traces the distributed train step.
"""

import csv
import json
from pathlib import Path
import signal
import socket
import time

import h5py
import numpy as np
import pytest

from conftest import start_python

pytestmark = pytest.mark.slow

ARGS = "--epochs 3 --steps-per-epoch 3 --batch-size 32 --data sample --save-every 1 --quiet".split()
TIMEOUT = 300


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def worker(cluster, index, args, scratch):
    """`python -m dcgan.train *args` as worker `index` of `cluster`. TMPDIR points a non-chief's
    scratch run folder into the test's temporary directory."""
    config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
    return start_python(
        "-m", "dcgan.train", *args, TF_CONFIG=json.dumps(config), TMPDIR=str(scratch)
    )


def start_workers(args, scratch):
    """Worker 0 (the chief: no "chief" task in the cluster) and worker 1."""
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(2)]}
    return [worker(cluster, i, args, scratch) for i in range(2)]


def finish(procs):
    """Waits for both; a worker left alone blocks on its peer, so a failure ends both."""
    try:
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f"worker exited {p.returncode}:\n{out}\n{err[-3000:]}"
    return [out for out, _ in outs]


def written_to(stdout):
    (line,) = [out for out in stdout.splitlines() if out.startswith("run written to ")]
    return line[len("run written to ") :]


def weights(path):
    out = []
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: (
                out.append((name, np.array(obj))) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert [n for n, _ in wa] == [n for n, _ in wb] and wa
    for (name, x), (_, y) in zip(wa, wb):
        np.testing.assert_array_equal(x, y, err_msg=f"{a} vs {b}: {name}")


def history_epochs(run):
    return [row["epoch"] for row in csv.DictReader(open(run / "history.csv"))]


def test_two_workers_train_kill_and_resume(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    # 1. Uninterrupted: the chief writes --out, the other worker its own scratch folder.
    straight = tmp_path / "straight"
    chief_out, other_out = finish(start_workers([*ARGS, "--out", str(straight)], scratch))
    assert written_to(chief_out) == str(straight)
    other = Path(written_to(other_out))
    assert other.parent == scratch and other.name.startswith("dcgan-worker-")
    config = json.loads((straight / "config.json").read_text())
    # MultiWorkerMirroredStrategy is an alias of CollectiveAllReduceStrategy
    assert config["strategy"] == "CollectiveAllReduceStrategy" and config["replicas"] == 2
    assert history_epochs(straight) == ["1", "2", "3"]
    for name in (
        "generator.h5",
        "discriminator.h5",
        "generator_e0003_savedmodel",
        "state_e0003.npz",
    ):
        assert (straight / name).exists(), name
    assert (other / "generator.h5").exists(), "the non-chief writes its final generator too"
    assert not (other / "generator_e0003_savedmodel").exists(), "non-chief skips SavedModel exports"
    assert_same_weights(straight / "generator.h5", other / "generator.h5")
    assert_same_weights(straight / "discriminator.h5", other / "discriminator.h5")

    # 2. Killed once the first checkpoint exists: the chief first, then the worker left waiting.
    killed = tmp_path / "killed"
    procs = start_workers([*ARGS, "--out", str(killed)], scratch)
    try:
        deadline = time.time() + TIMEOUT
        while not (killed / "state_e0001.npz").exists():
            assert all(p.poll() is None for p in procs), "a worker ended before it could be killed"
            assert time.time() < deadline, "no checkpoint in time"
            time.sleep(0.05)
        procs[0].send_signal(signal.SIGKILL)
        time.sleep(0.5)
        procs[1].send_signal(signal.SIGKILL)
    finally:
        for p in procs:
            p.kill()
            p.communicate()
    assert not (killed / "generator.h5").exists(), "killed after it finished: nothing was tested"

    # 3. Both resume from the chief's run directory (the same folder here; on separate machines a
    #    shared or copied one), so both start from the same checkpoint.
    chief_out, other_out = finish(
        start_workers(["--resume", str(killed), "--epochs", "3", "--quiet"], scratch)
    )
    assert written_to(chief_out) == str(killed)
    other = Path(written_to(other_out))
    assert other.parent == scratch
    assert history_epochs(killed) == ["1", "2", "3"], "no epoch lost or repeated, one writer"
    assert_same_weights(killed / "generator.h5", other / "generator.h5")
    # and they end where the uninterrupted run ended
    for name in ("generator.h5", "discriminator.h5"):
        assert_same_weights(straight / name, killed / name)


def lone_worker(tmp_path, *flags):
    """Worker 0 of a two-worker cluster whose worker 1 never starts."""
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(2)]}
    args = [*ARGS, "--out", str(tmp_path / "run"), *flags]
    return worker(cluster, 0, args, tmp_path), cluster["worker"][1]


def test_a_missing_worker_is_named_after_a_bounded_wait(tmp_path):
    proc, missing = lone_worker(tmp_path, "--worker-timeout", "3")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [err.strip()] and "Traceback" not in err
    assert f"worker 1 ({missing}) did not come up within 3 s" in err
    assert not (tmp_path / "run").exists(), "nothing is written before the cluster is up"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_waiting_worker_stops_at_once_on_a_signal(tmp_path, sig):
    proc, _ = lone_worker(tmp_path, "--worker-timeout", "600")
    time.sleep(15)  # past TensorFlow's start-up: waiting for worker 1
    assert proc.poll() is None, proc.communicate()
    start = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()
