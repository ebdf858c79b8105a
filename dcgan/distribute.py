"""Picks the `tf.distribute` strategy: several workers, all GPUs, or the default."""

import json
import os

import tensorflow as tf


def get_strategy():
    """MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored over the GPUs when there are
    any, else the default (one device) strategy."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def best_precision():
    """The fastest policy that trains as well as float32 on this machine.

    bf16 where the hardware does bf16 math (Ampere+ GPUs; CPUs with AVX512_BF16 or AMX, where
    oneDNN runs bf16 convolutions at twice the fp32 rate), fp16 with loss scaling on older
    tensor-core GPUs, float32 elsewhere.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if cc >= (8, 0) else "mixed_float16" if cc >= (7, 0) else "float32"
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"


def is_chief():
    """Only the chief (or worker 0 where there is no chief, or a lone process) writes the run."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


def is_multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy that really spans several workers."""
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
    step = model.train_step

    def train_step(data):
        return {k: tf.reshape(v, (1,)) for k, v in step(data).items()}

    model.train_step = train_step
    return model
