"""What lets a run survive: models saved atomically, resume state written and found again."""

from pathlib import Path

import numpy as np

from dcgan import files

STATE_GLOB = "state_e*.npz"


def atomic_save(model, path):
    """Saves `model` to `path` (.h5, .keras, or a SavedModel folder for any other name) through a
    temporary name, so a crash never leaves half a file; a failed save leaves `path` as it was.
    A training twin is saved as its built-in-layer net (`models.export`)."""
    from dcgan.models import export

    path, model = Path(path), export(model)
    with files.atomic_path(path) as tmp:
        if path.suffix in (".h5", ".keras"):
            model.save(tmp)
        else:  # SavedModel folder: export wants a path that does not exist yet
            tmp.unlink()
            model.export(str(tmp), verbose=False)
    return path


GROUPS = {
    "g": "the generator's weights",
    "d": "the discriminator's weights",
    "gopt": "the generator's optimizer",
    "dopt": "the discriminator's optimizer",
    "ema": "the EMA generator's weights",
}


def _all_variables(gan):
    """Everything resume needs, in a fixed order."""
    # `variables`, not `weights`: D's Dropout layers keep their RNG state there.
    groups = {
        "g": gan.generator.variables,
        "d": gan.discriminator.variables,
        "gopt": gan.g_optimizer.variables,
        "dopt": gan.d_optimizer.variables,
    }
    if gan.ema_generator is not None:
        groups["ema"] = gan.ema_generator.weights
    return groups


def save_state(gan, path, epoch):
    """Weights, both optimizers, EMA and the epoch, written atomically as one .npz."""
    arrays = {
        f"{k}/{i:04d}": np.asarray(v)
        for k, vs in _all_variables(gan).items()
        for i, v in enumerate(vs)
    }
    with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, epoch=epoch, **arrays)


def load_state(gan, path):
    """Restores a state file into a compiled DCGAN; returns the epoch it was saved at.
    Raises ValueError when the file does not fit the model."""
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    with np.load(path) as f:
        for k, vs in _all_variables(gan).items():
            names = sorted(n for n in f.files if n.startswith(f"{k}/"))
            if len(names) != len(vs) and k in ("g", "d"):  # written before RNG state was kept
                vs = (gan.generator if k == "g" else gan.discriminator).weights
            shapes = [tuple(f[n].shape) for n in names]
            if shapes != [tuple(v.shape) for v in vs]:
                raise ValueError(
                    f"{path} does not fit this model ({GROUPS[k]} differ): it is from another "
                    "run or another version; resume the run it belongs to, or start a new one"
                )
            for v, n in zip(vs, names):
                v.assign(f[n])
        return int(f["epoch"])


def latest_state(run_dir, log=print):
    """(path, epoch) of the newest state file that reads back whole, skipping damaged ones;
    (None, 0) when there is none. Every array is read, so each zip member's CRC-32 checksum is
    verified, not only the epoch's."""
    for path in sorted(Path(run_dir).glob(STATE_GLOB), reverse=True):
        try:
            with np.load(path, allow_pickle=False) as f:
                for name in f.files:
                    f[name]
                return path, int(f["epoch"])
        except Exception as e:
            log(
                f"checkpoint {path.name} is damaged ({type(e).__name__}); falling back to the "
                "one before"
            )
    return None, 0
