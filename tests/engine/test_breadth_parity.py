"""The breadth fixtures (GRU, SimpleRNN, Bidirectional, TimeDistributed, masking, Embedding, Conv1D, pooling, shape
layers, normalisation, merges, multi-input/output, shared, nested and legacy models) exist in every format Keras can
write them in. test_parity.py replays every one of them against Keras."""
from __future__ import annotations

from tests.fixture_index import manifest

# model -> formats Keras itself can write and read back (Keras 3.15 cannot reload its own legacy .h5 of a model with
# a mask-producing layer, nor of LayerNormalization over several axes; those formats have no fixture)
ALL = ("k2h5", "k3h5", "k3keras")
EXPECTED = {
    "br_gru_after": ALL, "br_gru_before": ALL, "br_gru_nobias": ALL, "br_simplernn": ALL,
    "br_bidi_concat": ALL, "br_bidi_sum": ALL, "br_bidi_mul": ALL, "br_bidi_ave": ALL, "br_bidi_none": ALL,
    "br_bidi_state": ALL, "br_bidi_backward_layer": ALL, "br_bidi_enc_dec": ALL,
    "br_timedist": ALL, "br_autoencoder": ALL,
    "br_masking": ("k2h5", "k3keras"), "br_masking_bidi": ("k2h5", "k3keras"), "br_masking_state": ("k2h5", "k3keras"),
    "br_embedding": ("k2h5", "k3keras"), "br_embedding_conv": ALL,
    "br_conv1d_valid": ALL, "br_conv1d_same": ALL, "br_conv1d_causal": ALL, "br_conv1d_same_strided": ALL,
    "br_pool": ALL, "br_pool_global": ALL, "br_flatten_reshape": ALL,
    "br_norms": ALL, "br_norms_axis": ("k2h5", "k3keras"),
    "br_multi_io": ALL, "br_enc_dec": ALL, "br_nested": ALL, "br_nested_seq": ALL, "br_nested_shared": ALL,
    "br_sequential_mix": ALL,
    "br_masking_init": ALL, "br_masking_merge": ("k2h5", "k3keras"), "br_stateful": ALL, "br_bidi_init": ALL,
    # crafted with h5py in the old layouts (Keras 1; Keras 2 CuDNNLSTM/CuDNNGRU), expected outputs from real Keras 2
    # loading the crafted weights into the equivalent LSTM/GRU with its own converters (tools/make_fixtures_breadth.py)
    "br_legacy_keras1": ("k2h5",), "br_legacy_cudnn": ("k2h5",),
}


def test_breadth_fixtures_exist():
    have = {(e["name"], e["format"]) for e in manifest()}
    missing = [f"{fmt}/{name}" for name, fmts in EXPECTED.items() for fmt in fmts if (name, fmt) not in have]
    assert not missing, f"missing fixtures (run tools/make_fixtures_breadth.py): {missing}"
