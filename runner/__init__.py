"""keras-compat: will our saved Keras models still load, and compute the same thing?"""

__version__ = "0.1.0"
