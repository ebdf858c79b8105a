"""What a run leaves behind: sample grids, a GIF, loss curves, checkpoints and resume state."""
import csv
import json
import os
from pathlib import Path
import shutil

import keras
import numpy as np

from dcgan import sampling

STATE_GLOB = "state_e*.npz"


def _discard(tmp):
    """Removes a temporary file or folder left by a failed save."""
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


def atomic_save(model, path):
    """Saves `model` to `path` through a temporary name, so a crash never leaves half a file.

    A save that fails (disk full, an error inside Keras or h5py) leaves `path` as it was and
    removes its temporary file before the error goes on."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        if path.suffix in (".h5", ".keras"):
            model.save(tmp)
            os.replace(tmp, path)
        else:  # SavedModel folder
            shutil.rmtree(tmp, ignore_errors=True)
            model.export(str(tmp), verbose=False)
            shutil.rmtree(path, ignore_errors=True)
            os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    return path


def _all_variables(gan):
    """Everything resume needs, in a fixed order."""
    # `variables`, not `weights`: D's Dropout layers keep their RNG state there.
    groups = {"g": gan.generator.variables, "d": gan.discriminator.variables,
              "gopt": gan.g_optimizer.variables, "dopt": gan.d_optimizer.variables}
    if gan.ema_generator is not None:
        groups["ema"] = gan.ema_generator.weights
    return groups


def save_state(gan, path, epoch):
    """Weights, both optimizers, EMA and the epoch, written atomically as one .npz."""
    arrays = {f"{k}/{i:04d}": np.asarray(v) for k, vs in _all_variables(gan).items()
              for i, v in enumerate(vs)}
    tmp = Path(path).with_name(f".tmp-{Path(path).name}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, epoch=epoch, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # the previous state files stay; no half-written one is left
        _discard(tmp)
        raise


def load_state(gan, path):
    """Restores a state file into a compiled DCGAN; returns the epoch it was saved at."""
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    with np.load(path) as f:
        for k, vs in _all_variables(gan).items():
            names = sorted(n for n in f.files if n.startswith(f"{k}/"))
            if len(names) != len(vs) and k in ("g", "d"):  # written before RNG state was kept
                vs = getattr(gan.generator if k == "g" else gan.discriminator, "weights")
            if len(names) != len(vs):
                raise ValueError(f"{path}: {k} has {len(names)} arrays, the model {len(vs)}")
            for v, n in zip(vs, names):
                v.assign(f[n])
        return int(f["epoch"])


class Checkpoints(keras.callbacks.Callback):
    """Every `every` epochs: generator/discriminator .h5, a generator SavedModel, resume state.
    At the end: generator.h5, generator.keras, discriminator.h5 (and the EMA generator)."""

    def __init__(self, run_dir, every, keep_states=2, savedmodel=True):
        super().__init__()
        self.run_dir, self.every, self.keep, self.savedmodel = Path(run_dir), every, keep_states, savedmodel
        self.failed = False

    def _save_models(self, tag):
        gan, d = self.model, self.run_dir
        atomic_save(gan.generator, d / f"generator{tag}.h5")
        atomic_save(gan.discriminator, d / f"discriminator{tag}.h5")
        if gan.ema_generator is not None:
            atomic_save(gan.calibrated_ema(), d / f"generator_ema{tag}.h5")

    def on_epoch_end(self, epoch, logs=None):
        e = epoch + 1
        if self.failed or e % self.every:
            return
        self._save_models(f"_e{e:04d}")
        if self.savedmodel:
            atomic_save(self.model.generator, self.run_dir / f"generator_e{e:04d}_savedmodel")
        save_state(self.model, self.run_dir / f"state_e{e:04d}.npz", e)
        for old in sorted(self.run_dir.glob(STATE_GLOB))[:-self.keep]:
            old.unlink()

    def on_train_end(self, logs=None):
        if self.failed:
            return
        self._save_models("")
        atomic_save(self.model.generator, self.run_dir / "generator.keras")


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first non-finite loss, before any checkpoint of the bad weights is written.

    Keras still ends the epoch after `stop_training`, so the callbacks that would save the bad
    weights or draw samples from them (`Checkpoints`, `SampleGrid`, `Evaluate`: anything given
    here with a `failed` attribute) are told to write nothing more. Put it first in the list:
    at each epoch's end it also checks the weights themselves, since the last step of an epoch
    can report a finite loss and still leave NaN weights behind.
    """

    def __init__(self, *writers):
        super().__init__()
        self.writers, self.epoch, self.bad_epoch = writers, 0, None

    def _stop(self):
        self.bad_epoch = self.epoch
        for w in self.writers:
            w.failed = True
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if any(not np.all(np.isfinite(np.asarray(logs[k], np.float64)))
               for k in ("d_loss", "g_loss") if k in logs):
            self._stop()

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_epoch is None and not all(
                np.all(np.isfinite(np.asarray(v))) for v in self.model.generator.weights + self.model.discriminator.weights):
            self._stop()


class SampleGrid(keras.callbacks.Callback):
    """A grid from one fixed noise batch every `every` epochs, so grids compare over training;
    `progress.gif` of them at the end."""

    def __init__(self, run_dir, every, seed, n=64):
        super().__init__()
        self.dir = Path(run_dir) / "samples"
        self.every, self.seed, self.n = every, seed, n
        self.failed = False  # set by StopOnNaN: no grid of NaN weights

    def on_train_begin(self, logs=None):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.z = sampling.latents(self.n, self.model.latent_dim, self.seed)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 and not self.failed:
            path = self.dir / f"epoch_{epoch + 1:04d}.png"
            if self.model.conditional:  # a row per digit, a column per fixed latent vector
                rows = sampling.digit_rows(self.model.generator, 8, seed=self.seed)
                sampling.save_grid(rows.reshape(-1, 28, 28), path, cols=8)
            else:
                sampling.save_grid(sampling.generate(self.model.generator, self.n, z=self.z), path)

    def on_train_end(self, logs=None):
        frames = sorted(self.dir.glob("epoch_*.png"))
        if frames:
            from PIL import Image
            images = [Image.open(f).convert("L") for f in frames]
            images[0].save(self.dir.parent / "progress.gif", save_all=True,
                           append_images=images[1:], duration=300, loop=0)


class Evaluate(keras.callbacks.Callback):
    """Every `every` epochs: FID of `n` digits against the test digits, logged as `fid` (and
    `fid_ema`) into history and the progress bar; the best generator so far is kept as
    generator_best.h5. FID depends on n: compare only runs scored with the same n."""

    def __init__(self, run_dir, every, reference_images, n=2000, seed=0, classifier=None):
        super().__init__()
        self.run_dir, self.every, self.n, self.seed = Path(run_dir), every, n, seed
        from dcgan import metrics
        self.metrics = metrics
        self.classifier = metrics.load_classifier(classifier)
        self.reference = metrics.reference_features(self.classifier, reference_images)
        best = self.run_dir / "best.json"
        self.best = json.loads(best.read_text())["fid"] if best.exists() else float("inf")
        self.failed = False  # set by StopOnNaN: no FID of NaN weights

    def _fid(self, generator):
        return self.metrics.evaluate_generator(generator, self.classifier, self.reference,
                                               n=self.n, seed=self.seed)["fid"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        due = (epoch + 1) % self.every == 0 and not self.failed
        logs["fid"] = self._fid(self.model.generator) if due else float("nan")
        if self.model.ema_generator is not None:
            logs["fid_ema"] = self._fid(self.model.calibrated_ema()) if due else float("nan")
        if due and logs["fid"] < self.best:
            self.best = logs["fid"]
            atomic_save(self.model.generator, self.run_dir / "generator_best.h5")
            (self.run_dir / "best.json").write_text(json.dumps({"epoch": epoch + 1, "fid": self.best, "n": self.n}))


class History(keras.callbacks.Callback):
    """Appends each epoch's metrics to history.csv (1-based epochs) and redraws losses.png from
    the whole file, so a resumed run keeps one history."""

    def __init__(self, run_dir):
        super().__init__()
        self.csv, self.png = Path(run_dir) / "history.csv", Path(run_dir) / "losses.png"

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        new = not self.csv.exists() or self.csv.stat().st_size == 0
        keys = list(logs) if new else read_header(self.csv)[1:]
        with open(self.csv, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(["epoch", *keys])
            w.writerow([epoch + 1, *(f"{logs[k]:.6g}" if k in logs else "" for k in keys)])
        plot_history(self.csv, self.png)


def read_header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def read_history(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_history(csv_path, png_path):
    # A bare Figure, not pyplot: `matplotlib.use("Agg")` here would switch the caller's backend
    # (in a notebook, training from `run()` would silence every later inline plot).
    from matplotlib.figure import Figure
    rows = read_history(csv_path)
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]
    fig = Figure(figsize=(10, 3.5))
    a, b = fig.subplots(1, 2)
    for k in ("d_loss", "g_loss"):
        a.plot(epochs, [float(r[k]) for r in rows], label=k)
    for k in ("d_real", "d_fake", "d_acc"):
        b.plot(epochs, [float(r[k]) for r in rows], label=k)
    if rows[0].get("fid") is not None:
        c = b.twinx()
        c.plot(epochs, [float(r["fid"]) if r["fid"] else float("nan") for r in rows], "k--", label="fid")
        c.set_ylabel("FID (dashed)")
    a.set_title("losses"), b.set_title("D(x), D(G(z)), D accuracy")
    for ax in (a, b):
        ax.set_xlabel("epoch"), ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
