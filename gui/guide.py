"""Help ▸ Guide: what the window's names mean (i, f, c̃, o, C, h, readout, stage), with the equations of the
selected layer's kind, written with the activations the layer actually uses."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout


def _acts(layer) -> tuple[str, str]:
    d = layer.describe() if layer is not None and hasattr(layer, "describe") else {}
    return d.get("recurrent_activation", "sigmoid"), d.get("activation", "tanh")


def _lstm(sig: str, act: str) -> str:
    return f"""
<h3>LSTM</h3>
<p>σ = <code>{sig}</code> (recurrent_activation), φ = <code>{act}</code> (activation); ⊙ multiplies element by element.
Keras stores the gates in the order i | f | c | o along the kernel's columns.</p>
<table cellspacing="4">
<tr><td>i<sub>t</sub> = σ(W<sub>i</sub> x<sub>t</sub> + U<sub>i</sub> h<sub>t−1</sub> + b<sub>i</sub>)</td>
<td><b>input gate</b>: how much of the candidate enters the cell</td></tr>
<tr><td>f<sub>t</sub> = σ(W<sub>f</sub> x<sub>t</sub> + U<sub>f</sub> h<sub>t−1</sub> + b<sub>f</sub>)</td>
<td><b>forget gate</b>: how much of the old cell state is kept</td></tr>
<tr><td>c̃<sub>t</sub> = φ(W<sub>c</sub> x<sub>t</sub> + U<sub>c</sub> h<sub>t−1</sub> + b<sub>c</sub>)</td>
<td><b>candidate</b> (gate “c”): what could be written into the cell</td></tr>
<tr><td>o<sub>t</sub> = σ(W<sub>o</sub> x<sub>t</sub> + U<sub>o</sub> h<sub>t−1</sub> + b<sub>o</sub>)</td>
<td><b>output gate</b>: how much of the cell is shown as h</td></tr>
<tr><td>C<sub>t</sub> = f<sub>t</sub> ⊙ C<sub>t−1</sub> + i<sub>t</sub> ⊙ c̃<sub>t</sub></td>
<td><b>cell state</b>: the layer's long memory</td></tr>
<tr><td>h<sub>t</sub> = o<sub>t</sub> ⊙ φ(C<sub>t</sub>)</td>
<td><b>hidden state</b>: what the next layer and the next step see</td></tr>
</table>"""


def _gru(sig: str, act: str, reset_after: bool) -> str:
    cand = ("h̃<sub>t</sub> = φ(W<sub>h</sub> x<sub>t</sub> + b<sub>h</sub> + r<sub>t</sub> ⊙ (U<sub>h</sub> "
            "h<sub>t−1</sub> + b<sub>U,h</sub>))" if reset_after else
            "h̃<sub>t</sub> = φ(W<sub>h</sub> x<sub>t</sub> + U<sub>h</sub> (r<sub>t</sub> ⊙ h<sub>t−1</sub>) + "
            "b<sub>h</sub>)")
    return f"""
<h3>GRU (reset_after = {reset_after})</h3>
<p>σ = <code>{sig}</code>, φ = <code>{act}</code>. Gate order z | r | h. A GRU has <b>no cell state</b>: its memory is
h itself.</p>
<table cellspacing="4">
<tr><td>z<sub>t</sub> = σ(W<sub>z</sub> x<sub>t</sub> + U<sub>z</sub> h<sub>t−1</sub> + b<sub>z</sub>)</td>
<td><b>update gate</b>: how much of the old h is kept</td></tr>
<tr><td>r<sub>t</sub> = σ(W<sub>r</sub> x<sub>t</sub> + U<sub>r</sub> h<sub>t−1</sub> + b<sub>r</sub>)</td>
<td><b>reset gate</b>: how much of the old h the candidate sees</td></tr>
<tr><td>{cand}</td><td><b>candidate</b> (gate “h”)</td></tr>
<tr><td>h<sub>t</sub> = z<sub>t</sub> ⊙ h<sub>t−1</sub> + (1 − z<sub>t</sub>) ⊙ h̃<sub>t</sub></td>
<td><b>hidden state</b></td></tr>
</table>"""


def _simple(act: str) -> str:
    return f"""
<h3>SimpleRNN</h3>
<p>φ = <code>{act}</code>. No gates and no cell state.</p>
<p>h<sub>t</sub> = φ(W x<sub>t</sub> + U h<sub>t−1</sub> + b)</p>"""


def _conv_lstm(sig: str, act: str, rank: int) -> str:
    return f"""
<h3>ConvLSTM{rank}D</h3>
<p>σ = <code>{sig}</code> (recurrent_activation), φ = <code>{act}</code> (activation); ∗ is a convolution, ⊙
multiplies element by element. An LSTM whose products are convolutions: x<sub>t</sub>, h, C and the gates are maps
(positions × channels), and a <b>unit</b> is a filter (channel) at one position. W ∗ x<sub>t</sub> uses the layer's
strides, dilation and padding; U ∗ h<sub>t−1</sub> is stride 1 with "same" padding.</p>
<table cellspacing="4">
<tr><td>i<sub>t</sub> = σ(W<sub>i</sub> ∗ x<sub>t</sub> + U<sub>i</sub> ∗ h<sub>t−1</sub> + b<sub>i</sub>)</td>
<td><b>input gate</b></td></tr>
<tr><td>f<sub>t</sub> = σ(W<sub>f</sub> ∗ x<sub>t</sub> + U<sub>f</sub> ∗ h<sub>t−1</sub> + b<sub>f</sub>)</td>
<td><b>forget gate</b></td></tr>
<tr><td>c̃<sub>t</sub> = φ(W<sub>c</sub> ∗ x<sub>t</sub> + U<sub>c</sub> ∗ h<sub>t−1</sub> + b<sub>c</sub>)</td>
<td><b>candidate</b> (gate “c”)</td></tr>
<tr><td>o<sub>t</sub> = σ(W<sub>o</sub> ∗ x<sub>t</sub> + U<sub>o</sub> ∗ h<sub>t−1</sub> + b<sub>o</sub>)</td>
<td><b>output gate</b></td></tr>
<tr><td>C<sub>t</sub> = f<sub>t</sub> ⊙ C<sub>t−1</sub> + i<sub>t</sub> ⊙ c̃<sub>t</sub></td>
<td><b>cell state</b> (a map)</td></tr>
<tr><td>h<sub>t</sub> = o<sub>t</sub> ⊙ φ(C<sub>t</sub>)</td><td><b>hidden state</b> (a map)</td></tr>
</table>
<p>Explained at a position p and channel j, a gate's pre-activation is split per channel: one term per input
channel k (the sum over the kernel taps of W·x<sub>t</sub> around p) and one per channel k of h<sub>t−1</sub>.</p>"""


def layer_equations(layer) -> str:
    """The equations of ``layer``'s kind (HTML); both directions' kind for a Bidirectional layer."""
    if layer is None:
        return "<p><i>Select a recurrent layer in the model panel to see its equations.</i></p>"
    inner = getattr(layer, "forward_layer", None)
    head = ""
    if inner is not None:
        head = (f"<h3>Bidirectional ({layer.describe().get('merge_mode', '')})</h3><p>Two layers read the same "
                "sequence: <b>forward</b> from t = 0 to T−1, <b>backward</b> from t = T−1 down to 0. The state and "
                "gate "
                "plots show one direction at a time (the <i>direction</i> selector); the steps of the backward "
                "direction are counted in its own processing order. The merge mode combines both outputs.</p>")
        layer = inner
    kind = layer.class_name
    sig, act = _acts(layer)
    if kind in ("LSTM", "CuDNNLSTM"):
        body = _lstm(sig, act)
    elif kind in ("GRU", "CuDNNGRU"):
        body = _gru(sig, act, bool(getattr(layer, "reset_after", False)))
    elif kind == "SimpleRNN":
        body = _simple(act)
    elif kind.startswith("ConvLSTM"):
        body = _conv_lstm(sig, act, int(getattr(layer, "rank", 2)))
    else:
        body = f"<p>{kind}</p>"
    return head + body


GENERAL = """
<h2>Reading the window</h2>
<p>x<sub>t</sub> is the input at step t, W the <b>kernel</b> (input → gate), U the <b>recurrent kernel</b>
(h<sub>t−1</sub> → gate) and b the <b>bias</b>, each sliced per gate on the <i>Weights per gate</i> tab.</p>
<ul>
<li><b>i, f, c̃ (c), o</b>: the LSTM's input gate, forget gate, candidate and output gate at the current step
(the <i>Gates</i> plot). Gates through σ lie in [0, 1]: 0 closes, 1 opens.</li>
<li><b>C</b>: the cell state, the LSTM's long memory, per unit over the steps done (<i>Cell state</i> plot).</li>
<li><b>h</b>: the hidden state, the layer's output at each step (<i>Hidden state</i> plot).</li>
<li><b>readout</b>: the model's prediction if the sequence stopped after step t, that is the layers after the
recurrent ones (e.g. Dense) applied to h<sub>t</sub>. After the last step it is the model's prediction. The
<i>Readout after every step, every sample</i> plot shows it for the whole batch, coloured by t: how the model warms
up over the window.</li>
<li><b>stage</b>: a part of the model that needs the whole of its input first. The decoder of an encoder–decoder, or a
<code>go_backwards</code> layer reading a stepped sequence, starts a new stage; the stages run one after another and
the status bar says “stage k, t = …”. A step of an earlier stage has no readout of an output that needs a later
one.</li>
<li><b>t</b> counts a layer's steps in the order it processes them.</li>
</ul>
<p><b>Explain</b> (the dock that opens when you click a gate bar, a heatmap cell, a state value or a ConvLSTM map
cell) takes that one number apart: the equation with the actual numbers, the activation curve with the operating
point, and every term W[k,j]·x<sub>t</sub>[k] and U[k,j]·h<sub>t−1</sub>[k] as a signed bar chart, so that bias +
Σ terms is the pre-activation. C<sub>t</sub> splits into what was kept (f ⊙ C<sub>t−1</sub>) and what was written
(i ⊙ c̃). The same is on the command line: <code>lstm-inspector-cli explain</code>.</p>
<p>Double-click a plot to enlarge it (again, or Esc, to go back). Hover a plot for unit, step and value; click a
point of the batch plots to select that sample, a gate bar or a heatmap cell to select that unit (and step).</p>
"""


class GuideDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("guideDialog")
        self.setWindowTitle("LSTM Inspector — Guide")
        self.text = QTextBrowser()
        self.text.setObjectName("guideText")
        self.text.setOpenExternalLinks(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        self.resize(720, 640)

    def show_layer(self, layer) -> None:
        name = f" — layer <code>{layer.name}</code>" if layer is not None else ""
        self.text.setHtml(f"{GENERAL}<h2>Equations of the selected layer{name}</h2>{layer_equations(layer)}")
