"""Layer implementations; importing this package registers every supported Keras class."""
from . import core, lstm  # noqa: F401
from . import gru, simple_rnn, bidirectional, time_distributed  # noqa: F401
from . import conv, pooling, shape_ops, normalization, merge, embedding, ops, legacy  # noqa: F401
from . import conv_nd, pooling_nd, padding_nd, conv_lstm  # noqa: F401
from . import advanced_activations  # noqa: F401
from .base import LAYER_TYPES, Layer
from .recurrent import GateSlice, RecurrentLayer

__all__ = ["LAYER_TYPES", "Layer", "RecurrentLayer", "GateSlice"]
