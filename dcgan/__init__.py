"""dcgan: train a DCGAN on MNIST with Keras 3, and use the generator it saves."""
__version__ = "0.1.0"

from dcgan.sampling import generate, load_generator, save_grid

__all__ = ["generate", "load_generator", "save_grid"]
