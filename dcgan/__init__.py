"""dcgan: train a DCGAN on MNIST with Keras 3, and use the generator it saves.

    from dcgan.images import save_grid
    from dcgan.sampling import generate, load_generator
    g = load_generator("saved_models/generator/generator.h5")
    save_grid(generate(g, 64, seed=1), "grid.png")

The names below load on first use, so `import dcgan` (and every `--help`) stays instant:
TensorFlow is imported only when a model is.
"""

__version__ = "0.1.0"

# `generate` is not among them: `dcgan.generate` is the command-line module.
_EXPORTS = {
    "load_generator": "sampling",
    "save_grid": "images",
    "save_images": "images",
    "Config": "training",
    "run": "training",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"dcgan.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'dcgan' has no attribute {name!r}")
