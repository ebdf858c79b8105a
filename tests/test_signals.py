"""A stop request (Ctrl-C, SIGTERM, SIGHUP) takes effect within seconds, even while TensorFlow
runs C++ code for minutes, and leaves no temporary file; --steps-per-execution is bounded by
the epoch."""

import json
import os
import signal
import time

import pytest

from dcgan import train
from dcgan.cli import STOP_GRACE_S, run_cli

from conftest import start_python

# A long TensorFlow graph call (C++, where Python's signal handlers cannot run, as in a compile
# or a --steps-per-execution call), inside an atomic write that has begun its temporary file.
BLOCKED = """
import sys
from dcgan import files
from dcgan.cli import quiet_tensorflow, run_cli

def main(argv):
    quiet_tensorflow()
    import tensorflow as tf

    @tf.function(autograph=False)
    def spin(x):
        return tf.while_loop(lambda i, x: i < 10**9, lambda i, x: (i + 1, tf.sin(x)), (0, x))[1]

    with files.atomic_path(sys.argv[1]) as tmp:
        tmp.write_text("half")
        print("ready", flush=True)
        spin(tf.constant(1.0))
    return 0

run_cli(main)
"""


def start(script, out):
    """`script` in a fresh interpreter, writing `out`; it prints "ready" once the write began."""
    return start_python("-c", script, out)


@pytest.mark.slow  # a fresh interpreter per signal (~10 s each)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_request_takes_effect_during_a_long_call_in_c(sig, tmp_path):
    out = tmp_path / "scores.json"
    proc = start(BLOCKED, out)
    try:
        assert proc.stdout.readline() == "ready\n"
        assert [p.name.startswith(".scores.") for p in tmp_path.iterdir()] == [True]
        time.sleep(2)  # past the tracing (Python), into the graph call (C++)
        sent = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(timeout=STOP_GRACE_S + 10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 130, err
    assert took < STOP_GRACE_S + 3, took
    assert "interrupted: files already written are kept" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "a temporary file was left behind"


@pytest.mark.slow  # a fresh interpreter per signal
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_request_handled_in_python_is_not_cut_short(sig, tmp_path):
    """The watcher leaves a process alone whose handler ran: it unwinds normally."""
    script = BLOCKED.replace("spin(tf.constant(1.0))", "__import__('time').sleep(60)")
    proc = start(script, tmp_path / "a.json")
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 130 and err.count("interrupted") == 1, err
    assert not list(tmp_path.iterdir())


def test_steps_per_execution_is_bounded_by_the_epoch(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # The MLP nets: the bound is the same for any net, and a conv run's saves cost ~15 s.
    argv = "--arch mlp --epochs 1 --steps-per-epoch 2 --batch-size 32 --data sample --quiet"
    argv += " --jit-compile off --steps-per-execution 10000 --out run"
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, argv.split())
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    assert "--steps-per-execution 10000 is more than the 2 steps of an epoch: using 2" in err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["steps_per_execution"] == 2


@pytest.mark.slow  # trains in a fresh interpreter
def test_training_stops_within_seconds_in_the_middle_of_a_graph_call(tmp_path):
    """An epoch of 15 steps in one graph call (--steps-per-execution 15) takes longer than the
    grace on 2 cores: SIGTERM still ends the run within seconds, leaving no temporary file."""
    run = tmp_path / "run"
    argv = "--epochs 50 --batch-size 256 --data sample --steps-per-epoch 15 --quiet"
    argv += f" --jit-compile off --steps-per-execution 15 --save-every 100 --out {run}"
    proc = start_python("-m", "dcgan.train", *argv.split())
    try:
        while not proc.stdout.readline().startswith("discriminator"):  # the banner: fit next
            assert proc.poll() is None, proc.stderr.read()
        time.sleep(6)  # inside the first calls: compiling, then 15 steps
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_GRACE_S + 30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 130, err
    assert took < STOP_GRACE_S + 5, took
    assert not [p for p in run.rglob("*.tmp*")], "a temporary file was left behind"


# A stop whose KeyboardInterrupt a callback from C swallows (TensorFlow calls Python back from
# its C++, and the handler may run there), while training goes on in Python.
SWALLOWED = """
import sys, time
from dcgan.cli import run_cli

def main(argv):
    print("ready", flush=True)
    try:
        time.sleep(60)
    except KeyboardInterrupt:
        pass
    time.sleep(60)
    return 0

run_cli(main)
"""


@pytest.mark.slow  # a fresh interpreter
def test_a_stop_swallowed_by_a_callback_still_ends_the_run(tmp_path):
    proc = start(SWALLOWED, tmp_path / "unused")
    try:
        assert proc.stdout.readline() == "ready\n"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_GRACE_S + 20)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 130 and err.count("interrupted") == 1, err
    assert took < STOP_GRACE_S + 5, took


def test_an_error_that_a_stop_caused_is_the_stop(capsys):
    """A KeyboardInterrupt raised inside C code that calls Python comes out as another error
    (SystemError "... returned a result with an exception set"): after a stop, exit 130."""

    def main(argv):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
        except KeyboardInterrupt as stop:
            raise SystemError("<method 'extend' of 'list' objects> returned NULL") from stop
        return 0

    with pytest.raises(SystemExit) as e:
        run_cli(main)
    assert e.value.code == 130
    assert capsys.readouterr().err == "interrupted: files already written are kept\n"

    def bad(argv):  # with no stop, an error is still the error it is
        raise SystemError("a bug")

    with pytest.raises(SystemError, match="a bug"):
        run_cli(bad)


# The stop arrives while a garbage collector callback runs (JAX registers one), where a raised
# KeyboardInterrupt would be printed as "Exception ignored" and dropped.
IN_GC = """
import gc, os, signal, time
from dcgan.cli import run_cli

def main(argv):
    def callback(phase, info):
        if phase == "start" and not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)

    sent = []
    gc.callbacks.append(callback)
    gc.collect()
    print("collected", flush=True)
    time.sleep(60)
    return 0

run_cli(main)
"""


@pytest.mark.slow  # a fresh interpreter
def test_a_stop_during_a_gc_callback_ends_the_run_in_one_line(tmp_path):
    proc = start(IN_GC, tmp_path / "unused")
    try:
        code = proc.wait(timeout=STOP_GRACE_S + 20)
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 130, err
    assert err.strip() == "interrupted: files already written are kept", err
