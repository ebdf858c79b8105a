"""Picks the `tf.distribute` strategy (several workers, all GPUs, or the default), or on JAX
`keras.distribution.DataParallel` over this machine's devices."""

import contextlib
import json
import os
import signal
import socket
import time

import keras

EXAMPLE = (
    '{"cluster": {"worker": ["hostA:12345", "hostB:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)


def tf_config():
    """TF_CONFIG, parsed and checked ({} when it is not set). Raises ValueError saying what is
    wrong with it, so a typo is one line rather than a hang or a TensorFlow traceback."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return {}
    fix = f"set TF_CONFIG like {EXAMPLE}, or unset it to train on this machine alone"
    try:
        config = json.loads(raw)
    except ValueError as e:
        where = f"{e.msg} at character {e.pos}"
        raise ValueError(f"TF_CONFIG is not valid JSON ({where}): {fix}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(f"TF_CONFIG has no 'cluster' object naming the tasks' addresses: {fix}")
    for kind, addresses in cluster.items():
        if (
            not isinstance(addresses, list)
            or not addresses
            or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses)
        ):
            raise ValueError(
                f"TF_CONFIG cluster {kind!r} must be a list of 'host:port' strings, "
                f"got {addresses!r}: {fix}"
            )
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host.strip("[]") or not 1 <= int(port) <= 65535:
                raise ValueError(
                    f"TF_CONFIG cluster {kind!r} address {address!r} needs a host and a port "
                    f"from 1 to 65535: {fix}"
                )
    task = config.get("task")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"TF_CONFIG task {task!r} must name this machine's type, one of "
            f"{', '.join(cluster)}, and its index: {fix}"
        )
    index, count = task.get("index", 0), len(cluster[task["type"]])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
        raise ValueError(
            f"TF_CONFIG task index {index!r} is out of range: the cluster has {count} "
            f"{task['type']} task(s), numbered 0 to {count - 1}"
        )
    return config


def backend():
    return keras.backend.backend()


class JaxDevices:
    """On JAX, what the trainer asks of a strategy: `scope()` and `num_replicas_in_sync`.
    Several devices train with `keras.distribution.DataParallel`: one program over the global
    batch, each device holding a slice of it, so k devices compute what one would (the batch
    statistics and the loss's mean are the global batch's without any synchronizing layer)."""

    def __init__(self):
        import jax

        devices = jax.devices()
        self.num_replicas_in_sync = len(devices)
        self.distribution = (
            keras.distribution.DataParallel(devices=devices) if len(devices) > 1 else None
        )

    def scope(self):
        return self.distribution.scope() if self.distribution else contextlib.nullcontext()

    def __repr__(self):
        return "DataParallel" if self.distribution else "OneDevice"


def strategy_name(strategy):
    return repr(strategy) if isinstance(strategy, JaxDevices) else type(strategy).__name__


def get_strategy(worker_timeout=300.0):
    """MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored over the GPUs when there are
    any, else the default (one device) strategy; on JAX, `JaxDevices`. Raises ValueError for a
    malformed TF_CONFIG (or any TF_CONFIG on JAX), TimeoutError when the other workers do not
    come up within `worker_timeout` seconds."""
    config = tf_config()
    if backend() == "jax":
        if config:
            raise ValueError(
                "TF_CONFIG names a cluster, but several machines train on the TensorFlow backend "
                "only: unset TF_CONFIG, or set KERAS_BACKEND=tensorflow"
            )
        return JaxDevices()
    import tensorflow as tf

    if config:
        wait_for_workers(config, worker_timeout)
        # Joining installs TensorFlow's own SIGINT/SIGTERM handling; ours stays in charge.
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        for s, handler in handlers.items():
            signal.signal(s, handler)
        return strategy
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _listening(address, timeout=1.0):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_workers(config, timeout, poll=0.5):
    """Waits, in Python (so Ctrl-C and SIGTERM work), until every other task of the cluster is
    up, then returns. Joining the cluster itself waits inside TensorFlow's C++ with no timeout
    and no way to interrupt it, so the waiting happens here first. Meanwhile this task's own
    address takes connections, which is how the others see that it is up.

    Raises TimeoutError naming the tasks that did not come up within `timeout` seconds."""
    kind, index = config["task"]["type"], config["task"].get("index", 0)
    others = [
        (f"{k} {i} ({address})", address)
        for k, addresses in config["cluster"].items()
        for i, address in enumerate(addresses)
        if (k, i) != (kind, index)
    ]
    mine = config["cluster"][kind][index].rpartition(":")
    listener = socket.socket(socket.AF_INET6 if ":" in mine[0] else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(mine[2])))
        listener.listen(64)
    except OSError as e:
        listener.close()
        raise ValueError(
            f"cannot listen on {kind} {index}'s address {mine[0]}:{mine[2]} ({e.strerror}): "
            "is another process using it? fix TF_CONFIG or stop that process"
        ) from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            missing = [name for name, address in others if not _listening(address)]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{', '.join(missing)} did not come up within {timeout:g} s: start every task "
                    "of TF_CONFIG's cluster with its own task index, or wait longer with "
                    "--worker-timeout"
                )
            time.sleep(poll)
    finally:
        listener.close()


AUTO_PRECISION_ENV = "DCGAN_AUTO_PRECISION"
AUTO_PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def best_precision():
    """The fastest policy that trains as well as float32 on this machine.

    bf16 where the hardware does bf16 math (Ampere+ GPUs; CPUs with AVX512_BF16 or AMX, where
    oneDNN runs bf16 convolutions at twice the fp32 rate), fp16 with loss scaling on older
    tensor-core GPUs, float32 elsewhere. On JAX, the same rule for GPUs; float32 on CPUs, where
    XLA (which JAX always compiles with) has no fast bf16 kernels (0.79x measured under TF's XLA).

    $DCGAN_AUTO_PRECISION, when set, is the pick instead: CI runs the precision-sensitive tests
    under both CPU paths whatever host it lands on, and a user can pin what `auto` means.
    """
    forced = os.environ.get(AUTO_PRECISION_ENV, "").strip()
    if forced:
        if forced not in AUTO_PRECISIONS:
            raise ValueError(
                f"${AUTO_PRECISION_ENV}={forced!r} is not one of {', '.join(AUTO_PRECISIONS)}: "
                "fix it or unset it"
            )
        return forced
    if backend() == "jax":
        import jax

        gpu = jax.devices()[0]
        if gpu.platform != "gpu":
            return "float32"
        cc = tuple(int(p) for p in str(getattr(gpu, "compute_capability", "0.0")).split("."))
        return "mixed_bfloat16" if cc >= (8, 0) else "mixed_float16" if cc >= (7, 0) else "float32"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if cc >= (8, 0) else "mixed_float16" if cc >= (7, 0) else "float32"
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


def best_jit(precision):
    """Whether XLA should compile the train step: where it measured faster, float32 on a CPU
    (1.7-1.9x the unfused step on the 2-core AVX2 host, docs/speed.md). Not for bf16 on a CPU
    (0.79x on the AVX-512 host: XLA's CPU backend has no oneDNN bf16 kernels), nor on GPUs or
    several workers, where it was not measured."""
    import tensorflow as tf

    if precision != "float32" or tf.config.list_physical_devices("GPU"):
        return False
    cluster = tf_config().get("cluster", {})
    return sum(len(tasks) for tasks in cluster.values()) <= 1


def is_chief():
    """Only the chief (or worker 0 where there is no chief, or a lone process) writes the run."""
    config = tf_config()
    task = config.get("task") or {}
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


def is_multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy that really spans several workers."""
    if isinstance(strategy, JaxDevices):
        return False
    import tensorflow as tf

    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def fit_metrics_workaround(model, strategy):
    """Lets Keras 3's `fit` run under MultiWorkerMirroredStrategy.

    With several workers, `fit` reduces every value `train_step` returns with
    `strategy.reduce(MEAN, value, axis=0)`, which fails on the scalar metrics every model returns
    ("Invalid reduction dimension 0 for input with 0 dimensions", tensorflow/tensorflow#72388,
    keras-team/keras#20585). Returning each metric as shape (1,) makes that reduction the mean
    over workers, a scalar again, which is what the callbacks and the progress bar get.
    """
    if not is_multi_worker(strategy):
        return model
    import tensorflow as tf

    step = model.train_step

    def train_step(data):
        return {k: tf.reshape(v, (1,)) for k, v in step(data).items()}

    model.train_step = train_step
    return model
