"""The training library: the GAN a `Config` builds, and `run`, which trains it into a run
directory that explains itself (config first, then everything the run writes; `dcgan.runs`).

    from dcgan.training import Config, run
    run_dir = run(Config(epochs=5, data="sample", batch_size=64))

`python -m dcgan.train` is a thin command line over this module.
"""

import contextlib
import dataclasses

import keras
import numpy as np

from dcgan import callbacks as cb
from dcgan import data, datasets, files, metrics, runs, trainset
from dcgan.checkpoints import check_resumable, load_state
from dcgan.classifier import for_data, identify, load_classifier
from dcgan.distribute import backend, fit_metrics_workaround, get_strategy, strategy_name, tf_config
from dcgan.gan import DCGAN
from dcgan.health import Health
from dcgan.models import FusedBatchNormalization, build_pair, export
from dcgan.settings import Config  # noqa: F401  (the library's way in: training.Config)


def build(cfg, strategy, classes=files.NUM_CLASSES):
    """The compiled DCGAN for a resolved config, built in the strategy's scope; a conditional
    one for `classes` classes (the digits, or a folder's class subfolders)."""
    keras.utils.set_random_seed(cfg.seed)
    # Layers keep the policy they were built under; the global one goes back as it was, so
    # building a GAN never changes what the caller builds next.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(cfg.precision)
    try:
        with strategy.scope():
            g, d = build_pair(
                cfg.arch,
                cfg.latent_dim,
                synchronized_bn=strategy.num_replicas_in_sync > 1,
                conditional=cfg.conditional,
                fast=cfg.nets == "fast",
                classes=classes,
                image_shape=cfg.image_shape,
            )
            for layer in g._flatten_layers():  # XLA fuses batch norm better than the fused op
                if isinstance(layer, FusedBatchNormalization):
                    layer.fused = not cfg.jit_compile
            gan = DCGAN(
                g,
                d,
                noise_kind=cfg.noise,
                target_kind=cfg.targets,
                seed=cfg.seed,
                ema_decay=cfg.ema,
                ema_warmup=cfg.ema_warmup,
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    with strategy.scope():

        def adam(lr):
            opt = keras.optimizers.Adam(lr, beta_1=cfg.beta1, beta_2=cfg.beta2)
            return (
                keras.optimizers.LossScaleOptimizer(opt)
                if cfg.precision == "mixed_float16"
                else opt
            )

        gan.compile(
            d_optimizer=adam(cfg.d_lr),
            g_optimizer=adam(cfg.lr),
            steps_per_execution=cfg.steps_per_execution,
            jit_compile=cfg.jit_compile,
        )
    return fit_metrics_workaround(gan, strategy)


# --- the steps of `run`, in the order it takes them -----------------------------------------


def load_training_data(cfg, log=print):
    """The training data (`trainset.Arrays` of digits, or a `trainset.ImageFolder`), checked
    against what `cfg` needs."""
    train = trainset.load(cfg.data, cfg.image_size, cfg.channels, log)
    if cfg.conditional and isinstance(train, trainset.ImageFolder):
        if len(train.classes or ()) < 2:
            raise ValueError(
                f"--conditional needs two or more class subfolders in {train.source}, which has "
                f"{'one, ' + train.classes[0] if train.classes else 'none'}: put each class's "
                "images in a subfolder named after it, or drop --conditional"
            )
    elif cfg.conditional:
        y = train.class_ids
        if len(np.unique(y)) < 2 or y.min() < 0 or y.max() >= files.NUM_CLASSES:
            raise ValueError(
                f"--conditional needs digit labels 0-9 but {train.source} has "
                f"{', '.join(map(str, np.unique(y)[:5]))}: pass --data a labelled MNIST .npz or "
                "IDX folder"
            )
    n = train.count
    if cfg.batch_size // 2 > n:
        raise ValueError(
            f"--batch-size {cfg.batch_size} needs {cfg.batch_size // 2} real images a step but "
            f"the data has {n}: use --batch-size {2 * (n // 2) or 2} or less"
        )
    return train


def steps_per_epoch(cfg, n_images, log=print):
    """The steps of an epoch: one pass over `n_images` (half a batch of real ones a step), or
    --steps-per-epoch where fewer; a cap beyond the epoch is said once through `log`, since
    an epoch never runs longer than one pass."""
    full = n_images // (cfg.batch_size // 2)
    if cfg.steps_per_epoch is not None and cfg.steps_per_epoch > full:
        log(
            f"note: --steps-per-epoch {cfg.steps_per_epoch} is more than an epoch holds: an epoch "
            f"of {n_images:,} images at --batch-size {cfg.batch_size} is {full:,} steps, so each "
            f"epoch runs {full:,}"
        )
    return full if cfg.steps_per_epoch is None else min(cfg.steps_per_epoch, full)


def bound_steps_per_execution(cfg, steps, log=print):
    """`cfg` with --steps-per-execution at most the steps of one epoch (said so through `log`
    when it was more): a graph call longer than the epoch does no more work, only a longer
    compile, and delays every stop request by as long."""
    if cfg.steps_per_execution <= steps:
        return cfg
    log(
        f"--steps-per-execution {cfg.steps_per_execution} is more than the {steps} steps of an "
        f"epoch: using {steps}"
    )
    return dataclasses.replace(cfg, steps_per_execution=steps)


def check_replicas(cfg, strategy):
    if (cfg.batch_size // 2) % strategy.num_replicas_in_sync:
        raise ValueError(
            f"--batch-size {cfg.batch_size} must split evenly over "
            f"{strategy.num_replicas_in_sync} replicas (half of it is the real batch)"
        )


def summary(cfg, gan, run_dir, source, strategy, data_shape=None):
    """The start banner: what is trained where, on what; also saved as summary.txt. Parameters
    are counted on the nets the run saves (a training twin has no bias before batch norm).
    `data_shape`: one training image's, said when the images are converted to the nets'."""
    note = trainset.shape_note(data_shape, cfg.image_shape) if data_shape else ""
    lines = [
        f"run directory  {run_dir}",
        f"data           {source}",
        f"images         {'x'.join(map(str, cfg.image_shape))}" + (f" ({note})" if note else ""),
        f"strategy       {strategy_name(strategy)} ({strategy.num_replicas_in_sync} replica(s)), "
        f"{backend()} backend",
        f"precision      {cfg.precision}",
        f"generator      {export(gan.generator).count_params():,} parameters"
        + (" (conditional)" if gan.conditional else ""),
        f"discriminator  {export(gan.discriminator).count_params():,} parameters",
        f"recipe         batch {cfg.batch_size}, Adam "
        + (f"{cfg.lr:g}" if cfg.d_lr == cfg.lr else f"G {cfg.lr:g} D {cfg.d_lr:g}")
        + f" / betas {cfg.beta1} {cfg.beta2}, {cfg.noise} noise, {cfg.targets} targets"
        + (f", EMA {cfg.ema}" if cfg.ema else ""),
    ]
    return "\n".join(lines)


SELECTION_DIGITS = 10_000
HEALTH_IMAGES = 512  # real images whose variety G's samples are compared with (`Health`)


def prepare_evaluation(cfg, train_images, train_classes, log=print):
    """(classifier, test reference, training reference) features for `eval_every`, loaded
    before anything is written; None, said in one note, when no classifier reads the run's data
    (a folder of your own images): the run then trains without FID. The classifier is the
    data's own (`classifier.for_data`). The best generator is picked against training images,
    so the test images that `dcgan.evaluate` reports on never choose what is kept."""
    shape = (cfg.image_size, cfg.image_size, cfg.channels)
    path, why, _ = for_data(cfg.data, shape=shape, images=train_images)
    if path is None:
        log(f"note: --eval-every is off: {why}, so training goes on without FID")
        return None
    classifier = load_classifier(path)
    test_images, test_classes, source = data.load(cfg.data, "test", log=lambda m: None)
    metrics.check_test_split(test_images, source)
    pick = slice(-SELECTION_DIGITS, None)
    return (
        classifier,
        metrics.real_features(classifier, test_images, classes=test_classes),
        metrics.real_features(classifier, train_images[pick], classes=train_classes[pick]),
    )


def make_callbacks(cfg, run_dir, chief, evaluation=None, real=None, log=print, real_classes=None):
    """(NaN guard, callbacks in the order they must run at each epoch's end):
    - the guard first: it judges the epoch and silences every writer when the weights went bad;
    - `Evaluate` before the loggers, so its FID reaches history.csv and TensorBoard;
    - the loggers before `Checkpoints`, so every checkpointed epoch is already in history.csv
      (a run killed right after a checkpoint resumes with its history whole)."""
    evaluate = (
        [cb.Evaluate(run_dir, cfg.eval_every, *evaluation, n=cfg.eval_samples, seed=cfg.seed + 2)]
        if cfg.eval_every and evaluation
        else []
    )
    # A non-chief skips the SavedModel exports: slow, and no one reads its scratch folder's.
    checkpoints = cb.Checkpoints(run_dir, cfg.save_every, savedmodel=chief)
    board = cb.TensorBoard(run_dir / "logs", cfg.log_every)
    grids = cb.SampleGrid(run_dir, cfg.sample_every, seed=cfg.seed + 1, tensorboard=board)
    # After `evaluate`, whose FID it reads; a worker that is not the chief leaves it unsaid.
    health = (
        [Health(real, log, seed=cfg.seed + 3, real_classes=real_classes)]
        if chief and real is not None
        else []
    )
    guard = cb.StopOnNaN([*evaluate, *health, checkpoints, grids])
    loggers = [cb.History(run_dir), board]
    clock = [cb.TimeLimit(cfg.minutes)] if cfg.minutes else []
    return guard, [guard, *evaluate, *health, *loggers, checkpoints, grids, *clock]


def restore(gan, state, strategy):
    """Loads resume state (None: a run stopped before its first) into the built GAN; reads
    only, so a state file that does not fit leaves the run folder as it was."""
    if state is not None:
        with strategy.scope():  # load_state builds the optimizers: their slots are distributed
            load_state(gan, state)


def run(
    cfg,
    resume=None,
    verbose="auto",
    log=print,
    command=None,
    worker_timeout=300.0,
    new_data=False,
    step_lines=False,
):
    """Trains a DCGAN as `cfg` says.

    Every setting, the data, TF_CONFIG and the classifier (for `eval_every`) are checked, and
    the GAN is built, before the first file is written, so a run that cannot start leaves
    nothing behind.

    Args:
        cfg: a `Config`.
        resume: a run directory to continue from its newest readable checkpoint (then `cfg`
            should be `Config.of_run(resume)`, with a larger `epochs` or another `data` if
            wanted). A run that was killed while writing its final models is completed.
        verbose: Keras's progress bar setting ("auto", 0, 1, 2).
        log: where notes and warnings go (the start banner is printed).
        command: the command line that started the run, kept in config.json.
        worker_timeout: several machines: seconds to wait for every worker to join.
        new_data: with `resume`, go on with training digits other than the run's (else an
            error).
        step_lines: also a plain line every few steps (`callbacks.StepLog`), beside
            verbose=2's line an epoch: for a log file, where an epoch is minutes of silence.
    Returns:
        The run directory (a `Path`).
    Raises:
        ValueError: a bad setting, data that does not fit it, a run directory that cannot be
            used (or that another process is training), or a run that diverged (its last good
            checkpoint is kept).
        FileNotFoundError: no such data (or no classifier for `eval_every`).
    """
    import tensorflow as tf  # its data pipeline; building and scoring a GAN need no TensorFlow

    cfg = cfg.resolved()
    tf_config()
    if not resume:
        runs.check_new_run_dir(cfg.out)
    images = datasets.image_folder(cfg.data)
    runs.check_outside_data(resume or cfg.out, images, resume=bool(resume))
    state, start_epoch = runs.find_resume_state(resume, log) if resume else (None, 0)
    if resume:
        runs.check_backend(resume)
        check_resumable(resume, start_epoch, log)
    if start_epoch >= cfg.epochs and cb.Checkpoints.finished(resume, cfg.ema):
        raise ValueError(
            f"{resume} already has {start_epoch} epochs and its final models: pass a larger "
            "--epochs to go on"
        )
    train = load_training_data(cfg, log)
    if resume:
        runs.check_resume_data(resume, train, new_data, log)
    evaluation = (
        prepare_evaluation(cfg, train.images, train.class_ids, log) if cfg.eval_every else None
    )
    strategy = get_strategy(worker_timeout)
    check_replicas(cfg, strategy)
    steps = steps_per_epoch(cfg, train.count, log)
    cfg = bound_steps_per_execution(cfg, steps, log)
    gan = build(cfg, strategy, len(train.classes) if train.classes else files.NUM_CLASSES)
    restore(gan, state, strategy)
    with contextlib.ExitStack() as held:
        run_dir, chief = runs.choose_run_dir(cfg, resume)
        if chief:  # before anything is written: one process per run folder
            held.enter_context(files.lock(run_dir))
        runs.write_run_config(
            run_dir,
            cfg,
            resume,
            data_source=train.source,
            train_images=train.count,
            train_digest=train.digest,
            **({"train_classes": list(train.classes)} if train.classes else {}),
            # what the images are, told by the data (not its file's name): their class names
            dataset=identify(train.images)[0] if isinstance(train, trainset.Arrays) else None,
            steps_per_epoch=steps,
            replicas=strategy.num_replicas_in_sync,
            strategy=strategy_name(strategy),
            backend=backend(),
            tensorflow=tf.__version__,
            keras=keras.__version__,
            **runs.jax_version(),
            command=command,
        )
        if resume:
            if chief:
                runs.truncate_history(run_dir / "history.csv", start_epoch)
            start = state.name if state else "its start"
            log(f"resuming {resume} from {start} (epoch {start_epoch})")
        if start_epoch >= cfg.epochs:  # killed while writing its final models: finish them
            cb.Checkpoints(run_dir, cfg.save_every).save_final(gan)
            log(f"{run_dir} had all {start_epoch} epochs; its final models are now written")
            return run_dir
        data_shape = train.images.shape[1:] if isinstance(train, trainset.Arrays) else None
        banner = summary(cfg, gan, run_dir, train.description, strategy, data_shape)
        print(banner)  # normal output, beside Keras's progress bar; `log` is for notes and warnings
        files.write_text(run_dir / "summary.txt", banner + "\n")
        real, real_classes = train.sample(HEALTH_IMAGES, cfg.seed, with_classes=True)
        guard, callbacks = make_callbacks(
            cfg, run_dir, chief, evaluation, real, log, real_classes=real_classes
        )
        if step_lines:
            callbacks.append(cb.StepLog(steps))
        # The same endless shuffled stream as an uninterrupted run, fast-forwarded past the
        # epochs done, so a resumed run sees the batches it would have seen.
        ds = train.dataset(
            cfg.batch_size // 2,
            seed=cfg.seed,
            repeat=True,
            with_classes=cfg.conditional,
            skip=start_epoch * steps,
        )
        # JAX's fit runs under the distribution (tf.distribute's fit needs no scope).
        with strategy.scope() if backend() == "jax" else contextlib.nullcontext():
            try:
                gan.fit(
                    ds,
                    epochs=cfg.epochs,
                    initial_epoch=start_epoch,
                    steps_per_epoch=steps,
                    callbacks=callbacks,
                    verbose=verbose,
                    shuffle=False,
                )
            except Exception:
                # An image the check read is gone or bad now: one line, not the pipeline's
                # traceback. Stopping (rather than training on a stand-in) keeps the data the
                # run's digest describes.
                if not getattr(train, "unreadable", None):
                    raise
                raise runs.data_changed(*train.unreadable[0], run_dir) from None
    if guard.bad_epoch is not None:
        raise runs.diverged(guard.bad_epoch, run_dir)
    return run_dir
