"""What a run shows while it trains: sample grids, a GIF, loss curves, FID, TensorBoard logs,
and the guard that stops a diverged run before any of them (or a checkpoint) records it."""

import csv
import io
import json
from pathlib import Path
import time

import keras
from matplotlib.figure import Figure
import numpy as np
from PIL import Image

from dcgan import checkpoints, ema, files, metrics, sampling
from dcgan.checkpoints import atomic_save
from dcgan.classifier import features_and_probs
from dcgan.images import grid, save_grid

PROGRESS_EVERY = 50  # steps between `StepLog`'s lines at most


class Writer(keras.callbacks.Callback):
    """A callback that writes files from the current weights. `StopOnNaN` sets `failed` so that
    none of them writes anything from weights that went bad."""

    failed = False


class Checkpoints(Writer):
    """Resume state every epoch (the newest `keep_states` kept), so any run can be continued;
    every `every` epochs also generator/discriminator .h5 (and a generator SavedModel); at the
    end the final models (`FINAL`, and the EMA generator)."""

    FINAL = ("generator.h5", "generator.keras", "discriminator.h5")

    def __init__(self, run_dir, every, keep_states=2, savedmodel=True):
        super().__init__()
        self.run_dir, self.every = Path(run_dir), every
        self.keep, self.savedmodel = keep_states, savedmodel

    def _save_models(self, gan, tag):
        d = self.run_dir
        atomic_save(gan.generator, d / f"generator{tag}.h5")
        atomic_save(gan.discriminator, d / f"discriminator{tag}.h5")
        if gan.ema is not None:
            atomic_save(gan.calibrated_ema(), d / ema.FILE.replace(".h5", f"{tag}.h5"), True)

    def save_final(self, gan):
        """The end-of-training models; also what completes a run killed while writing them."""
        self._save_models(gan, "")
        atomic_save(gan.generator, self.run_dir / "generator.keras")

    @classmethod
    def finished(cls, run_dir, with_ema):
        """True when `run_dir` holds every final model."""
        names = cls.FINAL + ((ema.FILE,) if with_ema else ())
        return all((Path(run_dir) / name).exists() for name in names)

    def on_epoch_end(self, epoch, logs=None):
        e = epoch + 1
        if self.failed:
            return
        if e % self.every == 0:
            self._save_models(self.model, f"_e{e:04d}")
            if self.savedmodel:
                atomic_save(self.model.generator, self.run_dir / f"generator_e{e:04d}_savedmodel")
        checkpoints.save_state(self.model, self.run_dir / f"state_e{e:04d}.npz", e)
        for old in sorted(self.run_dir.glob(checkpoints.STATE_GLOB))[: -self.keep]:
            old.unlink()

    def on_train_end(self, logs=None):
        if not self.failed:
            self.save_final(self.model)


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first non-finite loss, before any checkpoint of the bad weights is written.

    Keras still ends the epoch after `stop_training`, so the `writers` that would save the bad
    weights or draw samples from them are told to write nothing more. It must run before them
    at each epoch's end (put it first in the callback list): it also checks the weights
    themselves, since the last step of an epoch can report a finite loss and still leave NaN
    weights behind.
    """

    def __init__(self, writers):
        super().__init__()
        self.writers, self.epoch, self.bad_epoch = list(writers), 0, None

    def _stop(self):
        self.bad_epoch = self.epoch
        for w in self.writers:
            w.failed = True
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if any(
            not np.all(np.isfinite(np.asarray(logs[k], np.float64)))
            for k in ("d_loss", "g_loss")
            if k in logs
        ):
            self._stop()

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_epoch is None and not all(
            np.all(np.isfinite(np.asarray(v)))
            for v in self.model.generator.weights + self.model.discriminator.weights
        ):
            self._stop()


class SampleGrid(Writer):
    """A grid from one fixed noise batch every `every` epochs, so grids compare over training;
    `progress.gif` of them at the end. With a `TensorBoard` callback, each grid also goes there.
    A conditional run's grid has a row per class, at most MAX_ROWS of them (spread evenly over
    its classes): a grid of a thousand classes would be more than a GIF frame can hold."""

    MAX_ROWS = 10
    GIF_MAX_SIDE = 65_535  # pixels: GIF stores a frame's sides in 16 bits

    def __init__(self, run_dir, every, seed, n=64, tensorboard=None):
        super().__init__()
        self.dir = Path(run_dir) / "samples"
        self.every, self.seed, self.n, self.tensorboard = every, seed, n, tensorboard

    def on_train_begin(self, logs=None):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.z = sampling.latents(self.n, self.model.latent_dim, self.seed)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 and not self.failed:
            path = self.dir / f"epoch_{epoch + 1:04d}.png"
            if self.model.conditional:  # a row per class, a column per fixed latent vector
                g = self.model.generator
                classes = sampling.spread_classes(g, self.MAX_ROWS)
                rows = sampling.class_rows(g, 8, seed=self.seed, classes=classes)
                images, cols = rows.reshape(-1, *rows.shape[2:]), 8
            else:
                images, cols = sampling.generate(self.model.generator, self.n, z=self.z), None
            save_grid(images, path, cols=cols)
            if self.tensorboard:
                self.tensorboard.image("samples", grid(images, cols), epoch)

    def on_train_end(self, logs=None):
        frames = sorted(self.dir.glob("epoch_*.png"))
        colour = len(sampling.image_shape(self.model.generator)) == 3
        # grids drawn before they were bounded (a run resumed from then) may not fit a GIF
        images = [Image.open(f) for f in frames]
        images = [
            i.convert("RGB" if colour else "L") for i in images if max(i.size) <= self.GIF_MAX_SIDE
        ]
        if images:
            with files.atomic_path(self.dir.parent / "progress.gif") as tmp:
                images[0].save(
                    tmp,
                    format="GIF",
                    save_all=True,
                    append_images=images[1:],
                    duration=300,
                    loop=0,
                )


class Evaluate(Writer):
    """Every `every` epochs: FID of `n` images against the test images, logged as `fid` (and
    `fid_ema`) into history and the progress bar. FID depends on n: compare only runs scored
    with the same n.

    The generator kept as generator_best.h5 is the one with the lowest FID against `selection`
    (training images' features), logged as `fid_train`: the EMA generator when there is one,
    else G. The test images then only report, so what is kept is not picked by the numbers it
    is later judged on."""

    def __init__(self, run_dir, every, classifier, test, selection, n=2000, seed=0):
        """classifier: a loaded one; test, selection: `metrics.real_features` of the test
        images and of training images."""
        super().__init__()
        self.run_dir, self.every, self.n, self.seed = Path(run_dir), every, n, seed
        self.classifier, self.test, self.selection = classifier, test, selection
        best = self.run_dir / "best.json"
        saved = json.loads(best.read_text()) if best.exists() else {}
        # A best.json scored against other images does not compare: the next score replaces it.
        same = saved.get("against") == "training digits"
        self.best = saved["fid"] if saved and same else float("inf")

    def _fids(self, generator):
        """FID against the test images and against the training images, of one draw of n."""
        classes = sampling.check_classes(generator, None, self.n)
        images = sampling.generate_batches(generator, self.n, self.seed, classes=classes)
        stats = metrics.gaussian_stats(features_and_probs(self.classifier, images)[0])
        return [
            metrics.frechet_distance(*stats, r["mu"], r["sigma"])
            for r in (self.test, self.selection)
        ]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        due = (epoch + 1) % self.every == 0 and not self.failed
        nan = [float("nan")] * 2
        raw = self._fids(self.model.generator) if due else nan
        logs["fid"] = raw[0]
        candidate, scores, kind = self.model.generator, raw, "raw"
        if self.model.ema is not None:
            scores = self._fids(self.model.calibrated_ema()) if due else nan
            logs["fid_ema"] = scores[0]
            candidate, kind = self.model.ema_generator, "ema"
        logs["fid_train"] = scores[1]
        if due and scores[1] < self.best:
            self.best = scores[1]
            atomic_save(candidate, self.run_dir / "generator_best.h5", trainable=True)
            best = {"epoch": epoch + 1, "fid": self.best, "n": self.n}
            best.update(against="training digits", generator=kind, fid_test=scores[0])
            files.write_text(self.run_dir / "best.json", json.dumps(best))


class TimeLimit(keras.callbacks.Callback):
    """Ends training at the first epoch boundary after `minutes` of it (`--minutes`); the run
    then ends as one that reached its last epoch, every final file written."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = 60.0 * minutes

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self.start >= self.seconds:
            self.model.stop_training = True


class StepLog(keras.callbacks.Callback):
    """Where the output is not a terminal (a log file, a pipe), Keras writes one line an epoch
    and nothing in between, and an epoch on a CPU takes minutes: this adds a plain line every
    `every` steps within it, with the running losses and the time the epoch still needs."""

    def __init__(self, steps, every=None, print_fn=print):
        super().__init__()
        self.steps = steps
        # about four lines an epoch, at most every PROGRESS_EVERY steps
        self.every = every or max(1, min(PROGRESS_EVERY, steps // 4))
        self.print = print_fn

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs") if self.params else None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.start, self.said = epoch + 1, time.monotonic(), 0

    def on_train_batch_end(self, batch, logs=None):
        # with --steps-per-execution k Keras calls this every k steps, `batch` the last of them
        done = batch + 1
        if done >= self.steps or done // self.every <= self.said // self.every:
            return  # Keras's own line ends the epoch
        self.said = done
        pace = (time.monotonic() - self.start) / done
        losses = " ".join(
            f"{k} {float(np.asarray(v)):.4f}" for k, v in (logs or {}).items() if np.size(v) == 1
        )
        of = f"/{self.epochs}" if self.epochs else ""
        self.print(
            f"epoch {self.epoch}{of} step {done}/{self.steps}: {losses} ({pace:.2f} s/step, "
            f"~{pace * (self.steps - done):.0f} s left in the epoch)",
            flush=True,
        )


class History(keras.callbacks.Callback):
    """Appends each epoch's metrics to history.csv (1-based epochs) and redraws losses.png from
    the whole file, so a resumed run keeps one history."""

    def __init__(self, run_dir):
        super().__init__()
        self.csv, self.png = Path(run_dir) / "history.csv", Path(run_dir) / "losses.png"

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        old = self.csv.read_text() if self.csv.exists() else ""
        keys = read_header(self.csv)[1:] if old.strip() else list(logs)
        rows = io.StringIO()
        w = csv.writer(rows)
        if not old.strip():
            w.writerow(["epoch", *keys])
        w.writerow([epoch + 1, *(f"{logs[k]:.6g}" if k in logs else "" for k in keys)])
        files.write_text(self.csv, old + rows.getvalue())  # whole, or not at all
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

    rows = read_history(csv_path)
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]
    fig = Figure(figsize=(10, 3.5))
    a, b = fig.subplots(1, 2)
    mark = "o" if len(rows) < 20 else None  # a line of one epoch is a point: draw it
    for k in ("d_loss", "g_loss"):
        a.plot(epochs, [float(r[k]) for r in rows], label=k, marker=mark)
    for k in ("d_real", "d_fake", "d_acc"):
        b.plot(epochs, [float(r[k]) for r in rows], label=k, marker=mark)
    scored = [(int(r["epoch"]), float(r["fid"])) for r in rows if r.get("fid")]
    if scored:  # only the epochs that were scored, joined (--eval-every > 1 leaves gaps)
        c = b.twinx()
        c.plot(*zip(*scored), "k--", label="fid", marker="o" if len(scored) < 20 else None)
        c.set_ylabel("FID (dashed)")
    a.set_title("losses"), b.set_title("D(x), D(G(z)), D accuracy")
    for ax in (a, b):
        ax.set_xlabel("epoch"), ax.legend()
    fig.tight_layout()
    with files.atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")


class TensorBoard(keras.callbacks.Callback):
    """One TensorBoard run per training run, all on one axis, the training step: the metrics
    every `every` steps (`step/...`, this epoch's running means, so a long epoch is a curve) and
    at each epoch's end (`epoch/...`, FID too when `Evaluate` runs before it), each optimizer's
    learning rate (`lr/...`) and the sample grids (`image`). Keras's own callback would read
    the learning rate of `model.optimizer`, which a GAN does not train with, and put epochs and
    batches on different axes. Writes only numbers, so it runs under any Keras backend."""

    def __init__(self, log_dir, every=50):
        super().__init__()
        self.log_dir, self.every = Path(log_dir), every
        self._writer, self._epoch = None, 0

    def step(self, epoch, batch=None):
        """The global step after `batch` of `epoch` (0-based), or at the end of `epoch`."""
        steps = self.params.get("steps") or 0
        return epoch * steps + (steps if batch is None else batch + 1)

    def _write(self, step, scalars=(), images=()):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        with self._writer.as_default(step=step):
            for tag, value in scalars:
                tf.summary.scalar(tag, value)
            for tag, image in images:
                image = np.asarray(image)
                tf.summary.image(tag, image[None, ..., None] if image.ndim == 2 else image[None])
        self._writer.flush()

    def image(self, tag, image, epoch):
        """A uint8 (height, width) or colour (height, width, 3) picture, logged at the end of
        `epoch` (0-based)."""
        self._write(self.step(epoch), images=[(tag, image)])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.step(self._epoch, batch)
        # Crossed rather than `step % every`: with --steps-per-execution k, Keras calls this
        # every k steps.
        spe = getattr(self.model, "steps_per_execution", 1) or 1
        if logs and step // self.every > (step - spe) // self.every:
            self._write(step, [(f"step/{k}", float(v)) for k, v in logs.items()])

    def on_epoch_end(self, epoch, logs=None):
        scalars = [(f"epoch/{k}", float(v)) for k, v in (logs or {}).items()]
        for net in ("discriminator", "generator"):
            optimizer = getattr(self.model, f"{net[0]}_optimizer")
            lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            scalars.append((f"lr/{net}", lr))
        self._write(self.step(epoch), scalars)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
