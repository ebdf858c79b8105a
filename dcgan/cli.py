"""How the command lines fail: one line on stderr and exit code 2, never a traceback.

The library raises Python's own exceptions (`ValueError`, `FileNotFoundError`, `OSError`) with a
message that says what to do instead; `run_cli` is the one place that turns them into that line.
"""

import argparse
import errno
import gc
import importlib.util
import os
import signal
import sys
import threading
import time

from dcgan import __version__, files


class UsageError(ValueError):
    """Bad input found by a command line: the message says what is wrong and what to do instead."""


class CliParser(argparse.ArgumentParser):
    """argparse, with its errors raised as UsageError (one line, exit 2 through `run_cli`)
    instead of argparse's usage dump, and `--version` ("dcgan X.Y.Z", exit 0, no TensorFlow)."""

    def __init__(self, prog, doc, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        lines = doc.strip().split("\n")
        super().__init__(
            prog=prog,
            description=lines[0],
            epilog="\n".join(lines[1:]).strip("\n") or None,
            **kwargs,
        )

        self.add_argument(
            "--version", action="version", version=f"dcgan {__version__}", help="print the version"
        )

    def error(self, message):
        raise UsageError(f"{message} (see --help)")


def cannot_write(path, error, flag):
    """The line for an output that failed while being written (an OSError), naming the flag."""
    return f"cannot write {path} ({error.strerror}): pick another {flag}"


# The Keras backends the nets, the step and the saved files are built and tested for, with the
# extra that installs each one's library.
BACKENDS = {"tensorflow": "pip install tensorflow", "jax": 'pip install "dcgan[jax]"'}


def check_backend():
    """UsageError unless $KERAS_BACKEND (when set) names a backend this project runs on, with
    its library installed: Keras itself would fail later with a bare "Unable to import backend"
    or a page of traceback that names neither the variable nor what to set it to."""
    value = os.environ.get("KERAS_BACKEND")
    if not value:  # Keras too reads an empty one as unset
        return
    valid = " or ".join(BACKENDS)
    if value not in BACKENDS:
        lower = value.strip().lower()
        why = (
            "the torch backend is not supported here yet"
            if lower == "torch"
            else f"did you mean {lower}?"
            if lower in BACKENDS
            else "not a Keras backend this project runs on"
        )
        raise UsageError(
            f"KERAS_BACKEND={value!r} ({why}): set KERAS_BACKEND to {valid}, or unset it "
            f"for tensorflow"
        )
    if importlib.util.find_spec(value) is None:
        raise UsageError(
            f"KERAS_BACKEND={value} but {value} is not installed: {BACKENDS[value]}, or set "
            f"KERAS_BACKEND to {' or '.join(b for b in BACKENDS if b != value)}"
        )


def quiet_tensorflow():
    """Imports TensorFlow with its start-up chatter (CUDA probes, oneDNN notices) silenced,
    once $KERAS_BACKEND is checked (`check_backend`): every command line calls this before
    anything imports Keras.

    TensorFlow writes those lines from C++ before its log level applies, so stderr is pointed at
    /dev/null for the import and the device probe alone (on a host with CUDA's driver library
    but no GPU, the probe's "failed call to cuInit" line would otherwise come with the first op).
    """
    check_backend()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                import tensorflow
            except ImportError:
                if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
                    raise
                return  # a JAX machine without TensorFlow: building and scoring need none
            tensorflow.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)  # Keras's "HDF5 is legacy" notice on every .h5


# Seconds a stop request (Ctrl-C, SIGTERM, SIGHUP) may wait for Python to take it: TensorFlow
# runs a graph call (a compile, several train steps) in C++, where Python's handlers cannot run.
STOP_GRACE_S = 3.0
# received: stop signals the watcher saw; delivered: those our handler ran for; in_cli / stopped:
# a command line is running / has taken the stop (its KeyboardInterrupt reached `run_cli`).
_SIGNALS = {"received": 0, "delivered": 0, "watching": False, "in_cli": False, "stopped": False}


def interrupt_on_signals():
    """Ctrl-C, SIGTERM (what `kill` and schedulers send) and SIGHUP (a closed terminal) stop a
    run the same way: files already written are kept, temporary ones removed, exit code 130.

    The stop takes effect within seconds even while TensorFlow runs C++ code that Python's
    handlers must wait for: each signal also wakes a watcher thread (through
    `signal.set_wakeup_fd`), which, if the stop has not been taken after STOP_GRACE_S, removes
    the temporary files of the writes under way (`files.remove_temporaries`) and ends the
    process with the same line and code. Under `run_cli` the stop is taken when its
    KeyboardInterrupt reaches `run_cli`, not when the handler runs: the handler can run inside
    a callback from C (TensorFlow's), which swallows the exception and goes on training."""

    def interrupt(signum, frame):
        _SIGNALS["delivered"] += 1
        # Raised in a garbage collector callback (JAX has one), the exception is printed as
        # "Exception ignored" and dropped: under run_cli the watcher ends the run instead.
        if _SIGNALS["in_cli"] and frame is not None and _in_gc_callback(frame):
            return
        raise KeyboardInterrupt

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, interrupt)
    _SIGNALS["handler"] = interrupt
    if _SIGNALS["watching"]:
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: the handlers alone
        os.close(read), os.close(write)
        return
    _SIGNALS["watching"] = True
    stops = {int(signal.SIGINT), int(signal.SIGTERM), int(signal.SIGHUP)}
    threading.Thread(target=_watch, args=(read, stops), daemon=True, name="stop").start()


def _in_gc_callback(frame):
    return frame.f_code in {getattr(c, "__code__", None) for c in gc.callbacks}


def _watch(read, stops):
    while True:
        got = stops & set(os.read(read, 64))
        # Only a signal that our handler takes: one that another handler was put in for since
        # (a library's, a notebook's) is theirs to handle.
        if not any(signal.getsignal(s) is _SIGNALS.get("handler") for s in got):
            continue
        _SIGNALS["received"] += 1
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:
            if _SIGNALS["stopped"] if _SIGNALS["in_cli"] else _taken():
                break
            time.sleep(0.05)
        else:  # Python never got control back: stop from here
            files.remove_temporaries()
            os.write(2, b"\ninterrupted: files already written are kept\n")
            os._exit(130)


def _taken():
    return _SIGNALS["delivered"] >= _SIGNALS["received"]


def run_cli(main, argv=None):
    """Runs `main(argv)` and exits; bad input ends in one line on stderr and exit code 2.

    `main` parses its flags first and imports TensorFlow (through `quiet_tensorflow`) only once
    they are good, so `--help` and flag errors answer at once."""
    interrupt_on_signals()
    stops = _SIGNALS["delivered"]
    _SIGNALS.update(in_cli=True, stopped=False)
    try:
        code = main(argv)
    except Exception as e:
        # A stop raised inside a callback from C (TensorFlow's, a tf.data thread's
        # numpy_function) can come out as another error (SystemError "returned a result with
        # an exception set", a cancelled op): after a stop request, every error is the stop.
        if _SIGNALS["delivered"] > stops:
            code = _interrupted()
        elif isinstance(e, (ValueError, OSError)):
            code = _one_line(e)
        else:
            raise
    except KeyboardInterrupt:
        code = _interrupted()
    finally:
        _SIGNALS["in_cli"] = False
    sys.exit(code or 0)


def _interrupted():
    _SIGNALS["stopped"] = True
    print("interrupted: files already written are kept", file=sys.stderr)
    return 130


def _one_line(e):
    """Prints the line of a UsageError, or of the library's ValueError, FileNotFoundError & co.;
    exit code 2."""
    text = str(e)
    if isinstance(e, OSError) and e.strerror and e.filename:  # the system's own: name it
        text = f"{e.filename}: {e.strerror}" + (
            " (free some space, or write elsewhere)" if e.errno == errno.ENOSPC else ""
        )
    print(f"error: {' '.join(text.split())}", file=sys.stderr)
    return 2
