"""A run that stops getting better says so: `Health`, the callback that names mode collapse, D
winning outright and a stalled FID in one line of the log, with what to try."""

import keras
import numpy as np

from dcgan import sampling
from dcgan.callbacks import Writer
from dcgan.models import is_conditional


def diversity(images, pairs=2000, seed=0):
    """Mean RMS pixel distance between random pairs of distinct images (uint8, any shape after
    the first axis), in 0..1: about 0.4 for MNIST's digits, 0 for one image drawn n times."""
    x = np.asarray(images, np.float32).reshape(len(images), -1) / 255.0
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(x), pairs), rng.integers(0, len(x) - 1, pairs)
    j += j >= i  # never an image with itself
    return float(np.sqrt(np.mean((x[i] - x[j]) ** 2, axis=1)).mean())


class Health(Writer):
    """Says in one line of the log, with what to try, when a run stops getting better, instead
    of leaving a user to find out from the samples hours later:
    - collapse: G draws nearly the same image for any noise (its samples vary less than
      `collapsed` times as much as the real images do);
    - D wins outright: D(G(z)) near 0 and D right about nearly every image over an epoch, so G's
      gradient vanishes and it rarely recovers;
    - FID stalls: no better FID in `patience` checks of --eval-every.
    Each is said when it starts, not again every epoch while it lasts. Nothing is judged before
    G has had `settle` steps: every run starts from near-constant images."""

    def __init__(self, real, log=print, patience=3, seed=0, n=256, settle=200, collapsed=0.25):
        super().__init__()
        self.real_diversity = diversity(real, seed=seed)
        self.log, self.patience, self.seed, self.n = log, patience, seed, n
        self.settle, self.collapsed = settle, collapsed
        self.active, self.best, self.since_best = set(), float("inf"), 0

    def _say(self, name, condition, line):
        if condition and name not in self.active:
            self.log(line)
        (self.active.add if condition else self.active.discard)(name)

    def on_epoch_end(self, epoch, logs=None):
        logs, g = logs or {}, self.model.generator
        steps = int(keras.ops.convert_to_numpy(self.model.g_optimizer.iterations))
        if self.failed or steps < self.settle:
            return
        at = f"warning: epoch {epoch + 1}:"
        one_class = 0 if is_conditional(g) else None  # a conditional G collapses within a class
        ratio = diversity(sampling.generate(g, self.n, seed=self.seed, digits=one_class))
        ratio /= max(self.real_diversity, 1e-6)
        self._say(
            "collapse",
            ratio < self.collapsed,
            f"{at} G draws nearly the same image for any noise (its samples vary {ratio:.2f}x as "
            "much as real ones): mode collapse, which rarely recovers; resume an earlier "
            "checkpoint (--resume with its state file kept) or start again with another --seed "
            "or a lower --lr",
        )
        d_fake, d_acc = logs.get("d_fake"), logs.get("d_acc")
        self._say(
            "d_wins",
            d_fake is not None and d_acc is not None and d_fake < 0.05 and d_acc > 0.99,
            f"{at} D wins outright (mean D(G(z)) {d_fake or 0:.3f}, D right about "
            f"{100 * (d_acc or 0):.1f}% of images): G gets almost no gradient; start again "
            "with a lower --d-lr (say half of --lr) or another --seed",
        )
        fid = logs.get("fid_train", logs.get("fid_ema", logs.get("fid")))
        if fid is not None and np.isfinite(fid):  # a check ran this epoch
            if fid < self.best:
                self.best, self.since_best = fid, 0
            else:
                self.since_best += 1
            self._say(
                "stalled",
                self.since_best >= self.patience,
                f"{at} FID has not improved for {self.since_best} checks (best {self.best:.2f}, "
                f"now {fid:.2f}): generator_best.h5 keeps the best; more epochs are unlikely to "
                "help, so stop here, or start again with a lower --lr",
            )
