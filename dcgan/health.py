"""A run that stops getting better says so: `Health`, the callback that names mode collapse, D
winning outright and a stalled FID in one line of the log, with what to try."""

import keras
import numpy as np

from dcgan import sampling
from dcgan.callbacks import Writer
from dcgan.models import is_conditional, num_classes


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
      `collapsed` times as much as the real images do); a conditional G is asked for each
      class, against that class's real images where `real_classes` says which they are, since
      one class can collapse while the others stay varied;
    - D wins outright: D(G(z)) near 0 and D right about nearly every image over an epoch, so G's
      gradient vanishes and it rarely recovers;
    - FID stalls: no better FID in `patience` checks of --eval-every.
    Each is said when it starts, not again every epoch while it lasts. Nothing is judged before
    G has had `settle` steps: every run starts from near-constant images."""

    def __init__(
        self,
        real,
        log=print,
        patience=3,
        seed=0,
        n=256,
        settle=200,
        collapsed=0.25,
        real_classes=None,
    ):
        super().__init__()
        self.real_diversity = diversity(real, seed=seed)
        self.class_diversity = {}  # class -> its real images' variety, where 8+ are known
        if real_classes is not None:
            real_classes = np.asarray(real_classes)
            for c in np.unique(real_classes):
                if (real_classes == c).sum() >= 8:
                    self.class_diversity[int(c)] = diversity(real[real_classes == c], seed=seed)
        self.log, self.patience, self.seed, self.n = log, patience, seed, n
        self.settle, self.collapsed = settle, collapsed
        self.active, self.best, self.since_best = set(), float("inf"), 0

    def _say(self, name, condition, line):
        if condition and name not in self.active:
            self.log(line)
        (self.active.add if condition else self.active.discard)(name)

    def variety(self, g):
        """{class: how much G's samples of it vary, over the real images'} for a conditional
        G, else {None: the same for all its samples}."""
        if not is_conditional(g):
            fake = sampling.generate(g, self.n, seed=self.seed)
            return {None: diversity(fake) / max(self.real_diversity, 1e-6)}
        ratios = {}
        for c in range(num_classes(g)):
            fake = sampling.generate(g, max(self.n // 4, 16), seed=self.seed, classes=c)
            real = self.class_diversity.get(c, self.real_diversity)
            ratios[c] = diversity(fake) / max(real, 1e-6)
        return ratios

    def on_epoch_end(self, epoch, logs=None):
        logs, g = logs or {}, self.model.generator
        steps = int(keras.ops.convert_to_numpy(self.model.g_optimizer.iterations))
        if self.failed or steps < self.settle:
            return
        at = f"warning: epoch {epoch + 1}:"
        ratios = self.variety(g)
        low = {c: r for c, r in ratios.items() if r < self.collapsed}
        where, vary = "", ", ".join(f"{r:.2f}x" for r in low.values())
        if None not in low and len(low) == len(ratios):
            where, vary = " in every class", f"{min(low.values()):.2f}x-{max(low.values()):.2f}x"
        elif None not in low:
            names = sampling.class_names(g) or [str(c) for c in range(num_classes(g))]
            where = " in class " + ", ".join(names[c] for c in low)
        self._say(
            "collapse",
            bool(low),
            f"{at} G draws nearly the same image for any noise{where} (its samples vary {vary} "
            "as much as real ones): mode collapse, which rarely recovers; resume an earlier "
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
