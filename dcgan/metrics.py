"""How good are the digits? Scores in the feature space of a small MNIST classifier
(`dcgan.classifier`): its penultimate layer (128 features) for FID and precision/recall, its
softmax for the classifier score (the Inception Score recipe), coverage and confidence. Generated
digits are scored against real ones: the test split (`real_features`), never digits a run was
trained or picked on.

The metric functions are plain numpy/scipy on arrays, so they are easy to test and reuse:
    classifier = load_classifier()                       # dcgan.classifier: the shipped one
    evaluate_generator(generator, classifier, test_images, n=10000, seed=0)
    -> {"fid": ..., "classifier_score": ..., "coverage": ..., "precision": ..., ...}
    compare_to_real(images, data="path/to/mnist.npz")    # what `python -m dcgan.evaluate` prints
Images no shipped classifier reads are scored by `own_scores`, in `dcgan.features`' features.
"""

import warnings

import numpy as np
import scipy.linalg
from scipy.special import entr, xlogy

from dcgan import data, datasets, sampling
from dcgan.classifier import features_and_probs, load_classifier
from dcgan.data import check_images
from dcgan.files import NUM_CLASSES

# --- the metrics: numpy/scipy only ----------------------------------------------------------


def frechet_distance(mu1, s1, mu2, s2):
    """||mu1 - mu2||^2 + tr(s1 + s2 - 2 (s1 s2)^(1/2)) between two Gaussians.

    As in Heusel et al. 2017: the matrix square root from scipy, its (roundoff) imaginary part
    dropped; a tiny ridge is added when s1 s2 is too singular for sqrtm.
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"shapes differ: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}"
        )
    diff = mu1 - mu2
    covmean = _sqrtm(s1 @ s2)
    if covmean is None:
        ridge = np.eye(len(mu1)) * 1e-6
        covmean = _sqrtm((s1 + ridge) @ (s2 + ridge), check=False)
    covmean = np.real(covmean)
    d = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(d, 0.0))  # >= 0 in exact arithmetic; clamp roundoff of equal sets


def _sqrtm(a, check=True):
    """scipy's matrix square root, quiet about singular input (dead ReLU features make the
    covariances singular; sqrtm still converges). None when the result does not square back."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(a)
    if check:
        scale = max(np.abs(a).max(), 1e-300)
        if not np.isfinite(root).all() or np.abs(root @ root - a).max() > 1e-6 * scale:
            return None
    return root


def gaussian_stats(feats):
    """(mean, covariance) of features (n, d), float64."""
    f = np.asarray(feats, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need features of shape (n >= 2, d), got {f.shape}")
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def fid(feats_a, feats_b):
    """Frechet distance between Gaussians fitted to two feature sets (n, d) and (m, d)."""
    return frechet_distance(*gaussian_stats(feats_a), *gaussian_stats(feats_b))


def classifier_score(probs):
    """exp(E_x KL(p(y|x) || p(y))): the Inception Score with this classifier. 1 .. n_classes;
    high when each digit is confidently one class and all classes appear."""
    p = np.asarray(probs, np.float64)
    p_y = p.mean(0, keepdims=True)
    kl = (xlogy(p, p) - xlogy(p, p_y)).sum(1)
    return float(np.exp(kl.mean()))


def class_histogram(probs):
    """Fraction of the images predicted as each class (argmax), shape (n_classes,)."""
    p = np.asarray(probs)
    return np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)


def coverage(probs):
    """exp(entropy of the predicted-class histogram): the effective number of digit classes
    produced, 1 (one class; mode collapse) .. 10 (all ten equally often)."""
    return float(np.exp(entr(class_histogram(probs)).sum()))


def mean_confidence(probs):
    """Mean top-class probability: how digit-like the images look to the classifier."""
    return float(np.asarray(probs, np.float64).max(1).mean())


def _sq_norms(x):
    return np.einsum("ij,ij->i", x, x)


# Distances are computed a block of rows at a time, at most this many entries (128 MB of
# float64) per block, however many points there are.
BLOCK_ENTRIES = 1 << 24


def _rows_per_block(chunk, n):
    return max(1, min(chunk, BLOCK_ENTRIES // max(n, 1)))


def _kth_nn_sq_radii(x, k, chunk):
    """Squared distance from each row of x to its k-th nearest other row."""
    n = len(x)
    chunk = _rows_per_block(chunk, n)
    if n <= k:
        raise ValueError(
            f"precision/recall with k={k} needs more than {k} samples per set, got {n}"
        )
    sq = _sq_norms(x)
    out = np.empty(n)
    for i in range(0, n, chunk):
        d = np.maximum(sq[i : i + chunk, None] - 2.0 * x[i : i + chunk] @ x.T + sq[None], 0.0)
        out[i : i + chunk] = np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself
    return out


def _inside(points, manifold, radii_sq, chunk):
    """Fraction of `points` inside some ball (centre manifold[j], squared radius radii_sq[j])."""
    chunk = _rows_per_block(chunk, len(manifold))
    sq_m = _sq_norms(manifold)
    sq_p = _sq_norms(points)
    hit = np.zeros(len(points), bool)
    tol = 1e-9 * (1.0 + radii_sq.max())  # roundoff of |a|^2 - 2ab + |b|^2 for a == b
    for i in range(0, len(points), chunk):
        d = np.maximum(
            sq_p[i : i + chunk, None] - 2.0 * points[i : i + chunk] @ manifold.T + sq_m[None], 0.0
        )
        hit[i : i + chunk] = (d <= radii_sq[None] + tol).any(1)
    return float(hit.mean())


def precision_recall(real_feats, fake_feats, k=3, chunk=1000):
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour. precision: fraction of fake points inside the real manifold (are samples
    realistic?); recall: fraction of real points inside the fake manifold (is the variety
    covered?). Distances are computed `chunk` rows at a time (fewer for large sets), so memory
    stays O(min(chunk * n, BLOCK_ENTRIES)); time grows as n^2.

    Read precision next to recall: a collapsed generator (every sample the same point) scores
    precision 1.0 if that point falls in the large ball of one odd real digit; recall is ~0.
    """
    real = np.asarray(real_feats, np.float64)
    fake = np.asarray(fake_feats, np.float64)
    r_real = _kth_nn_sq_radii(real, k, chunk)
    r_fake = _kth_nn_sq_radii(fake, k, chunk)
    return _inside(fake, real, r_real, chunk), _inside(real, fake, r_fake, chunk)


# --- putting it together --------------------------------------------------------------------


def real_features(classifier, images, classes=None):
    """Features of real digits to score against, computed once and reusable across
    `evaluate_images`. With their `classes`, the per-class scores of a conditional generator can
    be computed too."""
    feats, probs = features_and_probs(classifier, images)
    mu, sigma = gaussian_stats(feats)
    return {
        "feats": feats,
        "probs": probs,
        "mu": mu,
        "sigma": sigma,
        "n": len(feats),
        "classes": None if classes is None else np.asarray(classes),
    }


def per_class_scores(feats, probs, classes, ref):
    """Digits drawn on request (a conditional generator's, or real ones with their classes):
    `agreement`, the fraction the classifier reads as the digit asked for, overall and per
    digit, and each digit's FID against the test digits of that class."""
    classes, pred = np.asarray(classes).ravel(), np.asarray(probs).argmax(1)
    rows = []
    for c in range(NUM_CLASSES):
        mine, theirs = classes == c, ref["classes"] == c
        rows.append(
            {
                "digit": c,
                "n": int(mine.sum()),
                "agreement": float((pred[mine] == c).mean()) if mine.any() else float("nan"),
                "fid": fid(feats[mine], ref["feats"][theirs]) if mine.sum() > 1 else float("nan"),
            }
        )
    return {"agreement": float((pred == classes).mean()), "per_class": rows}


def evaluate_images(classifier, images, real, k=3, classes=None):
    """All metrics for digits against real digits (the test split).

    Args:
        classifier: from `load_classifier`.
        images: uint8 (n, 28, 28), or an iterator of uint8 batches (`sampling.generate_batches`;
            only their features are kept).
        real: uint8 digits, or the dict from `real_features` (computed once,
            reused across calls).
        k: neighbours for precision/recall.
        classes: the class each image was asked to be (a conditional generator's), or None.
    Returns:
        {"n", "fid", "classifier_score", "coverage", "mean_confidence", "precision", "recall":
        floats, "class_histogram": 10 fractions}; with `classes` and the real images' classes, also
        `agreement` and `per_class` (see `per_class_scores`).
    Raises:
        ValueError: images that are not uint8 (n, 28, 28).
    """
    ref = real if isinstance(real, dict) else real_features(classifier, real)
    return _scores(*features_and_probs(classifier, images), ref, k, classes)


def _scores(feats, probs, ref, k, classes):
    precision, recall = precision_recall(ref["feats"], feats, k=k)
    extra = (
        {}
        if classes is None or ref.get("classes") is None
        else per_class_scores(feats, probs, classes, ref)
    )
    return {
        "n": int(len(feats)),
        "fid": frechet_distance(*gaussian_stats(feats), ref["mu"], ref["sigma"]),
        "classifier_score": classifier_score(probs),
        "coverage": coverage(probs),
        "mean_confidence": mean_confidence(probs),
        "precision": precision,
        "recall": recall,
        "class_histogram": [round(float(v), 6) for v in class_histogram(probs)],
        **extra,
    }


def evaluate_generator(generator, classifier, real, n=10000, seed=0, k=3):
    """Draws n digits with `sampling.generate(generator, n, seed)` and returns
    `evaluate_images` of them; a conditional generator is asked for 0-9 in turn and scored per
    digit too. The digits are drawn and read a batch at a time: only their features are kept."""
    classes = sampling.check_classes(generator, None, n)
    return evaluate_images(
        classifier,
        sampling.generate_batches(generator, n, seed, classes=classes),
        real,
        k=k,
        classes=classes,
    )


# The fewest test digits scores are computed against: FID's covariances of the classifier's
# features, and the k-NN manifolds, from fewer are noise (the bundled sample has 1,000, MNIST
# 10,000).
MIN_TEST_IMAGES = 1000


def check_test_split(test_images, source):
    """ValueError unless `source` has at least MIN_TEST_IMAGES test images to score against."""
    if len(test_images) < MIN_TEST_IMAGES:
        noun = datasets.noun(datasets.kind(source))
        raise ValueError(
            f"{source} has {len(test_images):,} test {noun}, fewer than the {MIN_TEST_IMAGES:,} "
            "that FID and the other scores need to mean anything: pass --data a set with at "
            f"least {MIN_TEST_IMAGES:,} test images (MNIST and Fashion-MNIST have 10,000)"
        )


def load_real(where=None, log=print):
    """The real digits `compare_to_real` scores against, loaded (and checked) once:
    {"test", "test_classes", "train", "train_classes", "source"} (see `dcgan.data.load`)."""
    test, test_y, source = data.load(where, "test", log=log)
    train_x, train_y, _ = data.load(where, "train", log=log)
    return {
        "test": test,
        "test_classes": test_y,
        "train": train_x,
        "train_classes": train_y,
        "source": source,
    }


def compare_to_real(
    images, classes=None, data=None, classifier=None, n_real=None, seed=0, k=3, log=print
):
    """Scores digits beside real ones, the way `python -m dcgan.evaluate` reports them.

    Args:
        images: uint8 (n, 28, 28) digits to score, or an iterator of uint8 batches of them
            (`sampling.generate_batches`): only their features are kept.
        classes: the class each image was asked to be (a conditional generator's), or None.
        data: where the real digits come from (see `dcgan.data.load`), or `load_real`'s dict;
            its test split is the reference, and `n_real` of its training digits (default: as
            many as `images`) are scored the same way as the floor a generator can hope for.
        classifier: a loaded classifier, or a path (see `load_classifier`).
        seed: picks the real training digits.
        k: neighbours for precision/recall.
    Returns:
        {"generated": metrics, "real": metrics, "reference": {"data", "split", "n"}}; with
        `classes`, both metrics hold per-class scores too.
    Raises:
        ValueError: too few digits for `k`, or bad images; FileNotFoundError: no classifier or data.
    """
    classifier = classifier if hasattr(classifier, "predict") else load_classifier(classifier)
    if not hasattr(images, "__next__"):
        images = check_images(images)
        if len(images) <= k:
            raise ValueError(
                f"{len(images)} generated digits are too few for --k {k}: use more than {k}"
            )
    real = data if isinstance(data, dict) else load_real(data, log)
    test, train_x, train_y = real["test"], real["train"], real["train_classes"]
    if len(test) <= k:
        raise ValueError(f"{len(test)} test digits are too few for --k {k}: use more than {k}")
    ref = real_features(classifier, test, classes=real["test_classes"])
    feats, probs = features_and_probs(classifier, images)
    n_real = min(n_real or len(feats), len(train_x))
    for name, count in (("generated", len(feats)), ("real", n_real)):
        if count <= k:
            raise ValueError(f"{count} {name} digits are too few for --k {k}: use more than {k}")
    pick = np.random.default_rng(seed).choice(len(train_x), n_real, replace=False)
    return {
        "generated": _scores(feats, probs, ref, k, classes),
        "real": evaluate_images(
            classifier,
            train_x[pick],
            ref,
            k=k,
            classes=train_y[pick] if classes is not None else None,
        ),
        "reference": {"data": real["source"], "split": "test", "n": len(test)},
    }


# --- without a classifier that knows the images ---------------------------------------------

# The scores `own_scores` reports, each better in one direction: none can rate noise or a black
# square above real images, as a pixel mean or a classifier's confidence could.
OWN = (("fid", "lower"), ("precision", "higher"), ("recall", "higher"))


def standardise(blocks, ref_blocks):
    """Feature blocks (one per net, as `features.Reader` gives them) -> one array: each block
    centred on the reference's mean and divided by the reference's root mean variance, so that
    every net weighs alike whatever the scale of its activations."""
    out = []
    for f, r in zip(blocks, ref_blocks, strict=True):
        scale = float(np.sqrt(r.var(0).mean())) or 1.0
        out.append((f - r.mean(0)) / scale)
    return np.concatenate(out, axis=1)


def own_scores(images, real, read, n_real=None, seed=0, k=3):
    """Images that no shipped classifier reads (a folder of your own), scored in the features
    `read` gives (`dcgan.features.Reader`): FID, precision and recall against half of the
    `real` images, beside the other half scored the same way as the floor (what a generator
    that draws real images would score).

    Args:
        images: uint8 (n, side, side[, 3]), or an iterator of batches of them.
        real: uint8 real images of the same shape (the data's), split in two disjoint halves
            by `seed`: the reference and the floor, `n_real` each (default: as many as images).
    Returns {"generated": {...}, "real": {...}, "reference": {"split": "train", "n"}}.
    """
    real = np.asarray(real)
    gen = read(images)
    n = len(gen[0])
    half = len(real) // 2
    n_real = min(n_real or n, half)
    for name, count in (("generated", n), ("real", n_real)):
        if count <= k:
            raise ValueError(f"{count} {name} images are too few for --k {k}: use more than {k}")
    order = np.random.default_rng(seed).permutation(len(real))
    ref_blocks = read(real[order[:n_real]])
    ref = standardise(ref_blocks, ref_blocks)
    mu, sigma = gaussian_stats(ref)

    def scores(blocks):
        f = standardise(blocks, ref_blocks)
        precision, recall = precision_recall(ref, f, k=k)
        return {
            "n": int(len(f)),
            "fid": frechet_distance(*gaussian_stats(f), mu, sigma),
            "precision": precision,
            "recall": recall,
        }

    return {
        "generated": scores(gen),
        "real": scores(read(real[order[half:][:n_real]])),
        "reference": {"split": "train", "n": int(len(ref))},
    }
