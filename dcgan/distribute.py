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


def is_chief():
    """Only the chief (or worker 0 where there is no chief, or a lone process) writes the run."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0
