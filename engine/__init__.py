"""LSTM Inspector's engine: Keras model files read with h5py, forward passes replayed in NumPy step by step.

No Qt and no TensorFlow are imported here, ever.
"""
from . import layers  # noqa: F401  (registers the layer classes)
from .errors import FormatError, InputShapeError, ModelFileError, ModelRunError, UnsupportedLayerError
from .model import Model, load_model
from .stepper import Stepper, StepInfo
from .trace import LayerTrace, Trace

__all__ = [
    "FormatError", "InputShapeError", "ModelFileError", "ModelRunError", "UnsupportedLayerError",
    "Model", "load_model", "Stepper", "StepInfo", "Trace", "LayerTrace",
]
