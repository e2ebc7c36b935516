"""References for every LSTM variant of the ``lstm-from-scratch`` assignment.

Each student writes the four functions of the assignment (``lstm_step_forward``,
``lstm_step_backward``, ``lstm_forward``, ``lstm_backward``) for one *variant*:
a cell and a gate layout, an :class:`LSTMVariant`. This module holds the
reference of every variant, the conversions between layouts, and the rule that
gives each student their variant.

Cells (``VARIANT_CELLS``), all in row-vector form with
:math:`z_t = x_t W_x + h_{t-1} W_h + b` split into gate blocks:

* ``'standard'``: gates i, f, o and candidate g, as :mod:`lstm_core.lstm`;
* ``'coupled'``: the input gate is coupled to the forget gate, :math:`i = 1 - f`
  (what is forgotten is replaced); no i block, 3 blocks f, g, o;
* ``'peephole'``: i and f also see :math:`c_{t-1}`, o sees the new :math:`c_t`,
  through diagonal weights ``P`` of shape ``(3, H)``, rows i, f, o (Gers &
  Schmidhuber 2000);
* ``'no_forget'``: no forget gate, :math:`f = 1` (the LSTM of Hochreiter &
  Schmidhuber 1997); 3 blocks i, g, o. Not in the assignment (``LSTM_VARIANTS``):
  it is there for the book's comparison.

Layouts (``LAYOUTS``), the order of the gate blocks along the last axis of
``Wx`` ``(D, kH)``, ``Wh`` ``(H, kH)``, ``b`` ``(kH,)``:

* ``'keras'``: i, f, c, o (Keras calls the candidate block ``c``);
* ``'pytorch'``: i, f, g, o;
* ``'cs231n'``: i, f, o, g.

Keras and PyTorch order the blocks alike; in this row-vector form the two
layouts differ only in the candidate's name. (PyTorch also stores its weights
transposed, ``(4H, D)``, with two biases; the references here keep every
layout in the shapes above.) A cell without an i (or f) block keeps the order of
its layout with that block removed.

Every function follows the engine's contract: ``forward -> (outputs, cache)``,
``backward(upstream, cache)`` never recomputes the forward pass, arguments are
never modified, shapes are checked where data enters. The math lives in plain
module-level functions (no closures, no methods), so that
:func:`lstm_core.testing.reference_disabled` applied to this module switches
every reference off, including :class:`LSTMVariant`'s methods, which only call
them. (So are :func:`convert_layout`, :func:`lstm_variant_for` and the text of a
variant within that block; making an :class:`LSTMVariant` and reading its gate
order, blocks and shapes still work.)

The other graded assignments have variants too, defined here once for the
notebooks and the grader's outside checks alike: ``lesson-exercises`` its numbers
and the order of its quick-check options (:class:`ExercisesVariant`), ``lstm-keras``
its series and window (:class:`SeriesVariant`). :data:`ASSIGNMENT_VARIANTS` holds
every table, :func:`variant_for` gives a student the row of a table, and
:func:`student_id` finds the id a notebook runs under (the grader's, the hub's, or
the one the student typed).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .activations import sigmoid
from .init import glorot_uniform, orthogonal
from .validation import (
    as_float_array,
    check_generator,
    check_positive_int,
    check_shape,
    common_dtype,
)

__all__ = [
    "LAYOUTS",
    "VARIANT_CELLS",
    "ASSIGNMENT_CELLS",
    "LSTMVariant",
    "LSTM_VARIANTS",
    "VariantStepCache",
    "VariantCache",
    "gate_order",
    "layout_permutation",
    "convert_layout",
    "init_variant_params",
    "check_variant_params",
    "variant_step_forward",
    "variant_step_backward",
    "variant_forward",
    "variant_backward",
    "variant_index",
    "lstm_variant_for",
    "STUDENT_ENV",
    "HUB_USER_ENV",
    "student_id",
    "QUICK_CHECK_OPTIONS",
    "ExercisesVariant",
    "LESSON_EXERCISES_VARIANTS",
    "SeriesVariant",
    "LSTM_KERAS_VARIANTS",
    "ASSIGNMENT_VARIANTS",
    "variant_for",
]

#: Gate-block order of each layout; ``'g'`` is the candidate.
LAYOUTS = MappingProxyType({
    "keras": ("i", "f", "g", "o"),
    "pytorch": ("i", "f", "g", "o"),
    "cs231n": ("i", "f", "o", "g"),
})
#: What each layout calls the candidate block.
_CANDIDATE_LABEL = MappingProxyType({"keras": "c", "pytorch": "g", "cs231n": "g"})
#: The gate blocks each cell has (in no particular order; the layout orders them).
_CELL_GATES = MappingProxyType({
    "standard": frozenset("ifgo"),
    "coupled": frozenset("fgo"),
    "peephole": frozenset("ifgo"),
    "no_forget": frozenset("igo"),
})
VARIANT_CELLS = ("standard", "coupled", "peephole", "no_forget")
#: The cells of the assignment, in the order of ``LSTM_VARIANTS``.
ASSIGNMENT_CELLS = ("standard", "coupled", "peephole")
_TITLES = MappingProxyType({
    "standard": "the standard LSTM",
    "coupled": "the LSTM with coupled input and forget gates",
    "peephole": "the peephole LSTM",
    "no_forget": "the LSTM without a forget gate",
})
_LAYOUT_TITLES = MappingProxyType({
    "keras": "Keras's gate layout", "pytorch": "PyTorch's gate layout",
    "cs231n": "CS231n's gate layout",
})


def gate_order(cell, layout):
    """The gate blocks of a cell in the order a layout gives them.

    Parameters
    ----------
    cell : {'standard', 'coupled', 'peephole', 'no_forget'}
    layout : {'keras', 'pytorch', 'cs231n'}

    Returns
    -------
    order : tuple of str
        Gate names, ``'g'`` for the candidate; for example ``('f', 'o', 'g')``
        for the coupled cell in CS231n's layout.

    Raises
    ------
    ValueError
        For an unknown cell or layout; the message lists the known ones.
    """
    return LSTMVariant(cell, layout).gate_order


# --------------------------------------------------------------------------
# The variant, as a value
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LSTMVariant:
    """One variant of the ``lstm-from-scratch`` assignment: a cell in a gate layout.

    Parameters
    ----------
    cell : {'standard', 'coupled', 'peephole', 'no_forget'}
    layout : {'keras', 'pytorch', 'cs231n'}

    Attributes
    ----------
    gate_order : tuple of str
        The gate blocks in order, ``'g'`` for the candidate (Keras calls it
        ``'c'``: see :attr:`gate_labels`).
    n_blocks : int
        ``k``, the number of gate blocks: 4, or 3 for 'coupled' and 'no_forget'.
    param_names : tuple of str
        ``('Wx', 'Wh', 'b')``, and ``'P'`` for the peephole cell.
    param_shapes : tuple of (str, tuple of str)
        Symbolic shapes, for example ``(('Wx', ('D', '4H')), ('Wh', ('H', '4H')),
        ('b', ('4H',)), ('P', ('3', 'H')))``.

    Notes
    -----
    The methods :meth:`step_forward`, :meth:`step_backward`, :meth:`forward`
    and :meth:`backward` have the signatures the student's functions have
    (listed in :attr:`signatures`), and call the module's reference functions.
    ``LSTM_VARIANTS`` lists the variants of the assignment; :func:`lstm_variant_for`
    gives a student theirs.
    """

    cell: str
    layout: str
    gate_order: tuple = field(init=False, repr=False, compare=False)
    n_blocks: int = field(init=False, repr=False, compare=False)
    param_names: tuple = field(init=False, repr=False, compare=False)
    param_shapes: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Self-contained (no call of this module's functions), so that variants can be
        # made and read while reference_disabled(lstm_core.variants) is in force.
        for kind, value, allowed in (("cell", self.cell, VARIANT_CELLS),
                                     ("layout", self.layout, tuple(LAYOUTS))):
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{kind} must be one of {allowed!r}; got {value!r}")
        order = tuple(g for g in LAYOUTS[self.layout] if g in _CELL_GATES[self.cell])
        k = len(order)
        names = ("Wx", "Wh", "b") + (("P",) if self.cell == "peephole" else ())
        shapes = (("Wx", ("D", f"{k}H")), ("Wh", ("H", f"{k}H")), ("b", (f"{k}H",)))
        if self.cell == "peephole":
            shapes += (("P", ("3", "H")),)
        for name, value in (("gate_order", order), ("n_blocks", k),
                            ("param_names", names), ("param_shapes", shapes)):
            object.__setattr__(self, name, value)

    @classmethod
    def from_key(cls, key):
        """The variant named ``'<cell>-<layout>'``, as :attr:`key` gives it."""
        cell, sep, layout = str(key).rpartition("-")
        if not sep:
            raise ValueError(f"a variant key is '<cell>-<layout>', such as 'peephole-cs231n'; got {key!r}")
        return cls(cell, layout)

    @property
    def key(self):
        """str: ``'<cell>-<layout>'``, such as ``'coupled-pytorch'``."""
        return f"{self.cell}-{self.layout}"

    @property
    def gate_labels(self):
        """tuple of str: the blocks as the layout names them (Keras's candidate is ``'c'``)."""
        cand = _CANDIDATE_LABEL[self.layout]
        return tuple(cand if g == "g" else g for g in self.gate_order)

    @property
    def title(self):
        """str: for example ``'the peephole LSTM in CS231n's gate layout'``."""
        return f"{_TITLES[self.cell]} in {_LAYOUT_TITLES[self.layout]}"

    def shapes(self, D, H):
        """Parameter shapes for ``D`` input features and ``H`` units.

        Returns
        -------
        shapes : dict of str to tuple of int
            ``{'Wx': (D, kH), 'Wh': (H, kH), 'b': (kH,)}``, and ``'P': (3, H)``
            for the peephole cell.
        """
        D, H, k = check_positive_int("D", D), check_positive_int("H", H), self.n_blocks
        out = {"Wx": (D, k * H), "Wh": (H, k * H), "b": (k * H,)}
        if self.cell == "peephole":
            out["P"] = (3, H)
        return out

    @property
    def equations(self):
        """str: the cell's equations, LaTeX (one ``aligned`` block, no ``$$``)."""
        return _equations(self)

    @property
    def signatures(self):
        """tuple of str: the four functions the student writes, with what they return."""
        return _signatures(self)

    @property
    def markdown(self):
        """str: the student's text: the cell, its layout and equations, the shapes, the signatures."""
        return _markdown(self)

    # The reference, with the student's signatures --------------------------
    def init_params(self, D, H, rng, dtype=np.float64):
        """Initial parameters: see :func:`init_variant_params`."""
        return init_variant_params(self, D, H, rng, dtype)

    def step_forward(self, x, h_prev, c_prev, *params):
        """``step_forward(x, h_prev, c_prev, Wx, Wh, b[, P]) -> (h, c, cache)``.

        See :func:`variant_step_forward`; ``P`` is given for the peephole cell only.
        """
        return variant_step_forward(self, x, h_prev, c_prev, *_unpack(self, params))

    def step_backward(self, dh, dc, cache):
        """``step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db[, dP])``.

        See :func:`variant_step_backward`.
        """
        return variant_step_backward(dh, dc, cache)

    def forward(self, x, *args, h0=None, c0=None):
        """``forward(x, Wx, Wh, b[, P], h0=None, c0=None) -> (h, c, cache)``.

        See :func:`variant_forward`; ``h0`` and ``c0`` may follow the parameters
        positionally, as in the student's function.
        """
        k = len(self.param_names)
        rest = args[k:]
        if len(rest) > 2 or (len(rest) >= 1 and h0 is not None) or (len(rest) == 2 and c0 is not None):
            raise ValueError(f"forward takes x, {', '.join(self.param_names)}, h0, c0; "
                             f"got {1 + len(args)} positional arguments and h0/c0 by keyword")
        h0 = rest[0] if rest else h0
        c0 = rest[1] if len(rest) == 2 else c0
        return variant_forward(self, x, *_unpack(self, args[:k]), h0=h0, c0=c0)

    def backward(self, dh, cache, dc_last=None):
        """``backward(dh, cache, dc_last=None) -> (dx, dh0, dc0, dWx, dWh, db[, dP])``.

        See :func:`variant_backward`.
        """
        return variant_backward(dh, cache, dc_last)


def _unpack(variant, params):
    """``(Wx, Wh, b, P or None)`` from the parameters in ``variant.param_names`` order."""
    if len(params) != len(variant.param_names):
        raise ValueError(f"the {variant.key} variant takes the parameters "
                         f"{', '.join(variant.param_names)}; got {len(params)} of them")
    return tuple(params) + ((None,) if len(params) == 3 else ())


#: Every variant of the assignment, cell by cell, layout by layout. Never reorder
#: it: ``lstm_variant_for`` indexes it, so a new order gives students new variants.
LSTM_VARIANTS = tuple(LSTMVariant(cell, layout) for cell in ASSIGNMENT_CELLS
                      for layout in ("keras", "pytorch", "cs231n"))


def _as_variant(variant):
    if isinstance(variant, LSTMVariant):
        return variant
    if isinstance(variant, str):
        return LSTMVariant.from_key(variant)
    raise TypeError(f"variant must be an LSTMVariant or a key such as 'peephole-cs231n'; "
                    f"got {type(variant).__name__}")


# --------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------

def layout_permutation(src, dst, cell="standard"):
    """Which source block goes to each place of the destination layout.

    Parameters
    ----------
    src, dst : {'keras', 'pytorch', 'cs231n'}
    cell : {'standard', 'coupled', 'peephole', 'no_forget'}, optional
        The cell decides which blocks exist.

    Returns
    -------
    perm : tuple of int
        Block ``j`` of the ``dst`` layout is block ``perm[j]`` of ``src``.
    """
    s, d = gate_order(cell, src), gate_order(cell, dst)
    return tuple(s.index(g) for g in d)


def convert_layout(Wx, Wh, b, src="keras", dst="cs231n", cell="standard"):
    """Reorder the gate blocks of LSTM weights from one layout to another.

    Parameters
    ----------
    Wx : (D, kH) ndarray
        Input weights, blocks in the ``src`` order; ``k`` is 4, or 3 for the
        'coupled' and 'no_forget' cells.
    Wh : (H, kH) ndarray
        Recurrent weights.
    b : (kH,) ndarray
        Bias.
    src, dst : {'keras', 'pytorch', 'cs231n'}
        The layouts to convert from and to.
    cell : {'standard', 'coupled', 'peephole', 'no_forget'}, optional
        Which blocks the weights hold. Peephole weights ``P`` (rows i, f, o in
        every layout) need no conversion.

    Returns
    -------
    Wx : (D, kH) ndarray
    Wh : (H, kH) ndarray
    b : (kH,) ndarray
        New arrays, blocks in the ``dst`` order.

    Raises
    ------
    ValueError
        For an unknown layout or cell, or weights whose shapes do not fit the
        cell; the message names the expected and the given shape.

    Notes
    -----
    With blocks :math:`W = [W^{(a)} \\mid W^{(b)} \\mid \\dots]` in the ``src``
    order, the result is the same blocks in the ``dst`` order: for example
    Keras's :math:`[i \\mid f \\mid c \\mid o]` becomes CS231n's
    :math:`[i \\mid f \\mid o \\mid g]` with :math:`g = c`.
    """
    perm = layout_permutation(src, dst, cell)
    variant = LSTMVariant(cell, src)
    arrays = [as_float_array(n, a) for n, a in (("Wx", Wx), ("Wh", Wh), ("b", b))]
    H = _check_weights(variant, *arrays, check_P=False)
    idx = np.concatenate([np.arange(j * H, (j + 1) * H) for j in perm])   # (kH,)
    return tuple(a[..., idx] for a in arrays)


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------

def _check_weights(variant, Wx, Wh, b, P=None, D=None, check_P=True):
    """Check the parameter shapes of a variant; return ``H``."""
    k = variant.n_blocks
    kH = f"{k}H"
    check_shape("Wh", Wh, ("H", kH), (None, None))
    H = Wh.shape[0]
    check_shape("Wh", Wh, ("H", kH), (H, k * H))
    check_shape("Wx", Wx, ("D", kH), (D, k * H))
    check_shape("b", b, (kH,), (k * H,))
    if not check_P:
        return H
    if variant.cell == "peephole":
        if P is None:
            raise ValueError(f"the {variant.key} variant needs peephole weights P of shape "
                             f"(3, H) = (3, {H}); got None")
        check_shape("P", P, ("3", "H"), (3, H))
    elif P is not None:
        raise ValueError(f"the {variant.key} variant has no peephole weights P; got an array "
                         f"of shape {np.shape(P)} (give h0 and c0 by keyword)")
    return H


def check_variant_params(variant, params, D=None):
    """Check a variant's parameters against each other and the input size.

    Parameters
    ----------
    variant : LSTMVariant or str
        Or its key, such as ``'peephole-cs231n'``.
    params : tuple of ndarray
        In the order of ``variant.param_names``: ``(Wx, Wh, b)`` or
        ``(Wx, Wh, b, P)``.
    D : int, optional
        The number of input features the weights must accept.

    Returns
    -------
    H : int
        The number of units.

    Raises
    ------
    ValueError
        For the wrong number of parameters or a wrong shape.
    """
    variant = _as_variant(variant)
    Wx, Wh, b, P = _unpack(variant, params)
    return _check_weights(variant, Wx, Wh, b, P, D)


def init_variant_params(variant, D, H, rng, dtype=np.float64):
    """Initial parameters of a variant, as Keras initialises its LSTM.

    Parameters
    ----------
    variant : LSTMVariant or str
    D : int
        Number of input features.
    H : int
        Number of units.
    rng : numpy.random.Generator
    dtype : dtype, optional
        float64 by default (for gradient checks).

    Returns
    -------
    params : tuple of ndarray
        ``Wx`` (D, kH), Glorot uniform; ``Wh`` (H, kH), orthogonal; ``b``
        (kH,), zeros with the forget-gate block at 1 when the cell has one
        (Keras's ``unit_forget_bias``); and for the peephole cell ``P`` (3, H),
        zeros, so that it starts as the standard LSTM.
    """
    variant = _as_variant(variant)
    D, H = check_positive_int("D", D), check_positive_int("H", H)
    check_generator("rng", rng)
    k = variant.n_blocks
    Wx = glorot_uniform((D, k * H), rng, dtype)
    Wh = orthogonal((H, k * H), rng, dtype)
    b = np.zeros(k * H, dtype)
    if "f" in variant.gate_order:
        j = variant.gate_order.index("f")
        b[j * H:(j + 1) * H] = 1
    if variant.cell == "peephole":
        return Wx, Wh, b, np.zeros((3, H), dtype)
    return Wx, Wh, b


# --------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class VariantStepCache:
    """What :func:`variant_step_backward` needs from one forward step.

    Attributes
    ----------
    variant : LSTMVariant
    x : (N, D) ndarray
    h_prev, c_prev : (N, H) ndarray
    Wx : (D, kH) ndarray
    Wh : (H, kH) ndarray
    P : (3, H) ndarray or None
        Peephole weights, rows i, f, o (peephole cell only).
    gates : (N, kH) ndarray
        Gate values after their activations, blocks in ``variant.gate_order``.
    c : (N, H) ndarray
        The new cell state.
    tanh_c : (N, H) ndarray
        Its ``tanh``.
    """

    variant: LSTMVariant
    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    P: object
    gates: np.ndarray
    c: np.ndarray
    tanh_c: np.ndarray


def _blocks(variant, a):
    """The gate blocks of ``a`` (..., kH) as a dict of views, keyed by gate name."""
    H = a.shape[-1] // variant.n_blocks
    return {g: a[..., j * H:(j + 1) * H] for j, g in enumerate(variant.gate_order)}


def _input_forget(variant, gate):
    """``(i, f)`` of a step from its gate blocks: ``i = 1 - f`` when coupled, ``f = 1`` without."""
    f = gate["f"] if "f" in gate else None
    i = gate["i"] if "i" in gate else 1 - f
    return i, f


def _step_forward(variant, x, h_prev, c_prev, Wx, Wh, b, P):
    """One step on checked arrays of one dtype; see :func:`variant_step_forward`."""
    z = x @ Wx + h_prev @ Wh + b                                      # (N, kH)
    gate = _blocks(variant, z)                                        # views, (N, H) each
    peephole = variant.cell == "peephole"
    if peephole:
        gate["i"] += c_prev * P[0]                                    # p_i * c_{t-1}
        gate["f"] += c_prev * P[1]                                    # p_f * c_{t-1}
    for name, zg in gate.items():
        if name == "g":
            np.tanh(zg, out=zg)
        elif not (peephole and name == "o"):                          # o waits for c_t
            sigmoid(zg, out=zg)
    i, f = _input_forget(variant, gate)
    c = i * gate["g"]                                                 # (N, H)
    c += c_prev if f is None else f * c_prev                          # c = f*c_prev + i*g
    if peephole:
        gate["o"] += c * P[2]                                         # p_o * c_t
        sigmoid(gate["o"], out=gate["o"])
    tanh_c = np.tanh(c)
    h = gate["o"] * tanh_c                                            # (N, H)
    return h, c, VariantStepCache(variant, x, h_prev, c_prev, Wx, Wh, P, z, c, tanh_c)


def variant_step_forward(variant, x, h_prev, c_prev, Wx, Wh, b, P=None):
    """One time step of an LSTM variant, forward.

    Parameters
    ----------
    variant : LSTMVariant or str
        The cell and layout, or its key such as ``'coupled-cs231n'``.
    x : (N, D) ndarray
        The inputs at this step.
    h_prev, c_prev : (N, H) ndarray
        The previous hidden and cell states.
    Wx : (D, kH) ndarray
        Input weights, gate blocks in ``variant.gate_order`` (``k`` = 4, or 3
        for 'coupled' and 'no_forget').
    Wh : (H, kH) ndarray
        Recurrent weights.
    b : (kH,) ndarray
        Bias.
    P : (3, H) ndarray, optional
        Peephole weights, rows i, f, o: required by the peephole cell, refused
        by the others.

    Returns
    -------
    h, c : (N, H) ndarray
        The new hidden and cell states.
    cache : VariantStepCache
        For :func:`variant_step_backward`.

    Raises
    ------
    ValueError
        If a shape is wrong, or ``P`` is missing (peephole) or given (others).

    Notes
    -----
    :math:`z = x W_x + h_{t-1} W_h + b`, split into the layout's blocks; then

    * standard: :math:`i, f, o = \\sigma(z^{(i)}), \\sigma(z^{(f)}), \\sigma(z^{(o)})`,
      :math:`g = \\tanh(z^{(g)})`, :math:`c_t = f \\odot c_{t-1} + i \\odot g`,
      :math:`h_t = o \\odot \\tanh(c_t)`;
    * coupled: as standard with :math:`i = 1 - f`;
    * peephole: :math:`i = \\sigma(z^{(i)} + p_i \\odot c_{t-1})`,
      :math:`f = \\sigma(z^{(f)} + p_f \\odot c_{t-1})`, :math:`c_t` as standard,
      :math:`o = \\sigma(z^{(o)} + p_o \\odot c_t)`, with :math:`P = [p_i; p_f; p_o]`;
    * no_forget: as standard with :math:`f = 1`, :math:`c_t = c_{t-1} + i \\odot g`.
    """
    variant = _as_variant(variant)
    x, h_prev, c_prev, Wx, Wh, b = (as_float_array(n, a) for n, a in (
        ("x", x), ("h_prev", h_prev), ("c_prev", c_prev), ("Wx", Wx), ("Wh", Wh), ("b", b)))
    P = None if P is None else as_float_array("P", P)
    check_shape("x", x, ("N", "D"), (None, None))
    N, D = x.shape
    H = _check_weights(variant, Wx, Wh, b, P, D)
    check_shape("h_prev", h_prev, ("N", "H"), (N, H))
    check_shape("c_prev", c_prev, ("N", "H"), (N, H))
    dtype = common_dtype(x, h_prev, c_prev, Wx, Wh, b, P)
    args = (a if a is None else a.astype(dtype, copy=False) for a in (x, h_prev, c_prev, Wx, Wh, b, P))
    return _step_forward(variant, *args)


def _step_backward(dh, dc, cache):
    """One step backward on checked arrays; see :func:`variant_step_backward`."""
    variant, P = cache.variant, cache.P
    gate = _blocks(variant, cache.gates)
    i, f = _input_forget(variant, gate)
    g, o, tanh_c, c_prev = gate["g"], gate["o"], cache.tanh_c, cache.c_prev
    dz = np.empty_like(cache.gates)                                   # (N, kH)
    d = _blocks(variant, dz)
    d["o"][...] = dh * tanh_c * o * (1 - o)                           # through sigma
    dc_t = dc + dh * o * (1 - tanh_c * tanh_c)                        # total dL/dc_t
    if variant.cell == "peephole":
        dc_t += d["o"] * P[2]                                         # c_t -> o's peephole
    d["g"][...] = dc_t * i * (1 - g * g)
    if "i" in d:
        d["i"][...] = dc_t * g * i * (1 - i)
    if "f" in d:                                                      # coupled: i = 1 - f
        df = dc_t * (c_prev - g) if variant.cell == "coupled" else dc_t * c_prev
        d["f"][...] = df * f * (1 - f)
    dc_prev = dc_t.copy() if f is None else dc_t * f                  # (N, H)
    grads = ()
    if variant.cell == "peephole":
        dc_prev += d["i"] * P[0] + d["f"] * P[1]
        grads = (np.stack([(d["i"] * c_prev).sum(axis=0), (d["f"] * c_prev).sum(axis=0),
                           (d["o"] * cache.c).sum(axis=0)]),)         # dP (3, H)
    dx = dz @ cache.Wx.T                                              # (N, D)
    dh_prev = dz @ cache.Wh.T                                         # (N, H)
    dWx = cache.x.T @ dz                                              # (D, kH)
    dWh = cache.h_prev.T @ dz                                         # (H, kH)
    return (dx, dh_prev, dc_prev, dWx, dWh, dz.sum(axis=0)) + grads


def variant_step_backward(dh, dc, cache):
    """One time step of an LSTM variant, backward.

    Parameters
    ----------
    dh : (N, H) ndarray
        Upstream gradient on the new hidden state.
    dc : (N, H) ndarray
        Upstream gradient on the new cell state.
    cache : VariantStepCache
        From :func:`variant_step_forward`.

    Returns
    -------
    dx : (N, D) ndarray
    dh_prev, dc_prev : (N, H) ndarray
    dWx : (D, kH) ndarray
    dWh : (H, kH) ndarray
    db : (kH,) ndarray
    dP : (3, H) ndarray
        Peephole cell only (the tuple then has 7 items).

    Notes
    -----
    With :math:`\\bar c = \\partial L/\\partial c_t + \\partial L/\\partial h_t
    \\odot o \\odot (1 - \\tanh^2 c_t)` (plus :math:`\\delta z^{(o)} \\odot p_o`
    for the peephole cell), the gradients on the pre-activations are
    :math:`\\delta z^{(i)} = \\bar c \\odot g \\odot i(1-i)`,
    :math:`\\delta z^{(f)} = \\bar c \\odot c_{t-1} \\odot f(1-f)` (coupled:
    :math:`\\bar c \\odot (c_{t-1} - g) \\odot f(1-f)`),
    :math:`\\delta z^{(g)} = \\bar c \\odot i \\odot (1-g^2)`,
    :math:`\\delta z^{(o)} = \\partial L/\\partial h_t \\odot \\tanh c_t \\odot o(1-o)`;
    :math:`\\partial L/\\partial c_{t-1} = \\bar c \\odot f` (:math:`\\bar c`
    without a forget gate), plus :math:`\\delta z^{(i)} \\odot p_i + \\delta z^{(f)}
    \\odot p_f` for the peephole cell, whose :math:`\\partial L/\\partial P` has
    rows :math:`\\sum_n \\delta z^{(i)} \\odot c_{t-1}`, :math:`\\sum_n \\delta
    z^{(f)} \\odot c_{t-1}`, :math:`\\sum_n \\delta z^{(o)} \\odot c_t`.
    """
    if not isinstance(cache, VariantStepCache):
        raise TypeError(f"cache must be the VariantStepCache of variant_step_forward; "
                        f"got {type(cache).__name__}")
    N, H = cache.c.shape
    dh, dc = as_float_array("dh", dh), as_float_array("dc", dc)
    check_shape("dh", dh, ("N", "H"), (N, H))
    check_shape("dc", dc, ("N", "H"), (N, H))
    return _step_backward(dh, dc, cache)


# --------------------------------------------------------------------------
# A whole sequence: a loop of steps
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class VariantCache:
    """What :func:`variant_backward` needs from :func:`variant_forward`.

    Attributes
    ----------
    variant : LSTMVariant
    steps : tuple of VariantStepCache
        One per time step, ``T`` of them.
    """

    variant: LSTMVariant
    steps: tuple

    @property
    def shape(self):
        """tuple: ``(N, T, D, H)``."""
        first = self.steps[0]
        return first.x.shape[0], len(self.steps), first.x.shape[1], first.c.shape[1]

    @property
    def dtype(self):
        """numpy.dtype: the dtype of the forward pass (float32 or float64)."""
        return self.steps[0].gates.dtype

    @property
    def gates(self):
        """(N, T, kH) ndarray: the gate values after their activations, at every step."""
        return np.stack([s.gates for s in self.steps], axis=1)


def variant_forward(variant, x, Wx, Wh, b, P=None, h0=None, c0=None):
    """Run an LSTM variant over a whole sequence.

    Parameters
    ----------
    variant : LSTMVariant or str
    x : (N, T, D) ndarray
        Input sequence, batch-first.
    Wx : (D, kH) ndarray
    Wh : (H, kH) ndarray
    b : (kH,) ndarray
        Blocks in ``variant.gate_order``.
    P : (3, H) ndarray, optional
        Peephole weights (peephole cell only).
    h0, c0 : (N, H) ndarray, optional
        Initial states; zeros if omitted.

    Returns
    -------
    h, c : (N, T, H) ndarray
        The hidden and cell states at every step.
    cache : VariantCache
        For :func:`variant_backward`.

    Raises
    ------
    ValueError
        If a shape is wrong, or ``P`` is missing (peephole) or given (others).

    Notes
    -----
    For :math:`t = 1, \\dots, T`: :math:`(h_t, c_t) =`
    :func:`variant_step_forward` of :math:`(x_t, h_{t-1}, c_{t-1})`, whose
    Notes give each cell's equations.
    """
    variant = _as_variant(variant)
    x, Wx, Wh, b = (as_float_array(n, a) for n, a in (("x", x), ("Wx", Wx), ("Wh", Wh), ("b", b)))
    P, h0, c0 = (None if a is None else as_float_array(n, a)
                 for n, a in (("P", P), ("h0", h0), ("c0", c0)))
    check_shape("x", x, ("N", "T", "D"), (None, None, None))
    N, T, D = x.shape
    H = _check_weights(variant, Wx, Wh, b, P, D)
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None:
            check_shape(name, s, ("N", "H"), (N, H))
    dtype = common_dtype(x, Wx, Wh, b, P, h0, c0)
    x, Wx, Wh, b, P = (a if a is None else a.astype(dtype, copy=False) for a in (x, Wx, Wh, b, P))
    h_t = np.zeros((N, H), dtype) if h0 is None else h0.astype(dtype)
    c_t = np.zeros((N, H), dtype) if c0 is None else c0.astype(dtype)
    h, c = np.empty((N, T, H), dtype), np.empty((N, T, H), dtype)
    steps = []
    for t in range(T):
        h_t, c_t, step = _step_forward(variant, x[:, t], h_t, c_t, Wx, Wh, b, P)
        h[:, t], c[:, t] = h_t, c_t
        steps.append(step)
    return h, c, VariantCache(variant, tuple(steps))


def variant_backward(dh, cache, dc_last=None):
    """Backpropagation through time for :func:`variant_forward`.

    Parameters
    ----------
    dh : (N, T, H) ndarray
        Upstream gradient on the hidden state at every step.
    cache : VariantCache
        From :func:`variant_forward`.
    dc_last : (N, H) ndarray, optional
        Upstream gradient on the last cell state; zeros if omitted.

    Returns
    -------
    dx : (N, T, D) ndarray
    dh0, dc0 : (N, H) ndarray
        Gradients on the initial states.
    dWx : (D, kH) ndarray
    dWh : (H, kH) ndarray
    db : (kH,) ndarray
    dP : (3, H) ndarray
        Peephole cell only (the tuple then has 7 items).

    Notes
    -----
    From :math:`t = T` down: :func:`variant_step_backward` of step :math:`t`
    with :math:`\\partial L/\\partial h_t` = ``dh[:, t]`` plus what step
    :math:`t+1` passed back, and :math:`\\partial L/\\partial c_t` from step
    :math:`t+1` (``dc_last`` at :math:`T`); the weight gradients are the sums
    over the steps.
    """
    if not isinstance(cache, VariantCache):
        raise TypeError(f"cache must be the VariantCache of variant_forward; got {type(cache).__name__}")
    N, T, D, H = cache.shape
    dtype = cache.steps[0].gates.dtype
    dh = as_float_array("dh", dh)
    check_shape("dh", dh, ("N", "T", "H"), (N, T, H))
    dc_next = np.zeros((N, H), dtype)
    if dc_last is not None:
        dc_last = as_float_array("dc_last", dc_last)
        check_shape("dc_last", dc_last, ("N", "H"), (N, H))
        dc_next = dc_next + dc_last
    dh_next = np.zeros((N, H), dtype)
    dx = np.empty((N, T, D), dtype)
    totals = None
    for t in range(T - 1, -1, -1):
        out = _step_backward(dh[:, t] + dh_next, dc_next, cache.steps[t])
        dx[:, t], dh_next, dc_next = out[:3]
        totals = list(out[3:]) if totals is None else [a + g for a, g in zip(totals, out[3:])]
    return (dx, dh_next, dc_next, *totals)


# --------------------------------------------------------------------------
# Each student's variant
# --------------------------------------------------------------------------

def _check_text(name, value, allow_bytes=False):
    kinds = (str, bytes) if allow_bytes else (str,)
    if not isinstance(value, kinds):
        raise TypeError(f"{name} must be a {' or '.join(k.__name__ for k in kinds)}; "
                        f"got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty; got {value!r}")
    if isinstance(value, str) and ("\x00" in value or value != value.strip()):
        raise ValueError(f"{name} must not contain NUL or start or end with whitespace; got {value!r}")
    return value.encode("utf-8") if isinstance(value, str) else value


def variant_index(term_key, assignment, student_id, n):
    """A student's variant number for an assignment: deterministic, keyed, in ``range(n)``.

    Parameters
    ----------
    term_key : str or bytes
        The course's secret for the term. Another key gives another,
        independent assignment of variants to ids.
    assignment : str
        The assignment's name, such as ``'lstm-from-scratch'``.
    student_id : str
        The student's id exactly as the grader sees it (nbgrader's student id).
    n : int
        The number of variants.

    Returns
    -------
    index : int
        ``HMAC-SHA256(term_key, assignment + NUL + student_id)``, read as a
        big-endian integer, modulo ``n``.

    Raises
    ------
    ValueError
        If ``term_key``, ``assignment`` or ``student_id`` is empty, a text
        contains NUL or starts or ends with whitespace (an id read with its
        newline would silently get another variant), or ``n`` is not a positive
        integer.
    TypeError
        If a text is not a ``str`` (or ``bytes`` for the key).

    Notes
    -----
    The index depends on the key, the assignment and the id only; not on the
    roster, nor on Python's ``hash`` (salted per process). So a student's variant
    never changes when others join or leave the class, and the grader recomputes
    it from the submission's id alone. The price is that the variants are
    balanced only statistically: an exactly balanced scheme (rank the roster by
    HMAC, deal the variants in turn) would move students between variants
    whenever the roster changes. For 100 ids and 9 variants (11.1 each on
    average), a uniform hash leaves a variant empty with probability about
    :math:`9 (8/9)^{100} \\approx 7 \\times 10^{-5}`, and gives some variant more
    than 22 ids (twice its share) for about 0.5% of keys (measured over 20,000
    keys); the bias of the reduction modulo ``n`` is below :math:`n / 2^{256}`.
    """
    key = _check_text("term_key", term_key, allow_bytes=True)
    message = _check_text("assignment", assignment) + b"\x00" + _check_text("student_id", student_id)
    n = check_positive_int("n", n)
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest, "big") % n


def lstm_variant_for(term_key, student_id, assignment="lstm-from-scratch"):
    """The LSTM variant a student gets for an assignment.

    Parameters
    ----------
    term_key : str or bytes
        The course's secret for the term.
    student_id : str
        The student's id, as the grader sees it.
    assignment : str, optional
        The assignment's name.

    Returns
    -------
    variant : LSTMVariant
        ``LSTM_VARIANTS[variant_index(term_key, assignment, student_id, 9)]``.

    Raises
    ------
    ValueError, TypeError
        As :func:`variant_index`.
    """
    return LSTM_VARIANTS[variant_index(term_key, assignment, student_id, len(LSTM_VARIANTS))]


# --------------------------------------------------------------------------
# The student's text
# --------------------------------------------------------------------------

def _z_line(variant):
    blocks = r" \;\big|\; ".join(f"z^{{({g})}}_t" for g in variant.gate_order)
    return rf"z_t &= x_t W_x + h_{{t-1}} W_h + b = \big[\, {blocks} \,\big]"


_CELL_LINES = MappingProxyType({
    "standard": (
        r"i_t &= \sigma(z^{(i)}_t), \quad f_t = \sigma(z^{(f)}_t), \quad "
        r"g_t = \tanh(z^{(g)}_t), \quad o_t = \sigma(z^{(o)}_t)",
        r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t",
        r"h_t &= o_t \odot \tanh(c_t)"),
    "coupled": (
        r"f_t &= \sigma(z^{(f)}_t), \quad i_t = 1 - f_t, \quad "
        r"g_t = \tanh(z^{(g)}_t), \quad o_t = \sigma(z^{(o)}_t)",
        r"c_t &= f_t \odot c_{t-1} + (1 - f_t) \odot g_t",
        r"h_t &= o_t \odot \tanh(c_t)"),
    "peephole": (
        r"i_t &= \sigma(z^{(i)}_t + p_i \odot c_{t-1}), \quad "
        r"f_t = \sigma(z^{(f)}_t + p_f \odot c_{t-1}), \quad g_t = \tanh(z^{(g)}_t)",
        r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t",
        r"o_t &= \sigma(z^{(o)}_t + p_o \odot c_t)",
        r"h_t &= o_t \odot \tanh(c_t)"),
    "no_forget": (
        r"i_t &= \sigma(z^{(i)}_t), \quad g_t = \tanh(z^{(g)}_t), \quad o_t = \sigma(z^{(o)}_t)",
        r"c_t &= c_{t-1} + i_t \odot g_t",
        r"h_t &= o_t \odot \tanh(c_t)"),
})


def _equations(variant):
    lines = (_z_line(variant),) + _CELL_LINES[variant.cell]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _signatures(variant):
    p = ", P" if variant.cell == "peephole" else ""
    dp = ", dP" if variant.cell == "peephole" else ""
    return (f"lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b{p}) -> (h, c, cache)",
            f"lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db{dp})",
            f"lstm_forward(x, Wx, Wh, b{p}, h0=None, c0=None) -> (h, c, cache)",
            f"lstm_backward(dh, cache, dc_last=None) -> (dx, dh0, dc0, dWx, dWh, db{dp})")


def _markdown(variant):
    k, labels = variant.n_blocks, variant.gate_labels
    order = ", ".join(f"**{g}**" for g in labels)
    cand = _CANDIDATE_LABEL[variant.layout]
    note = (f" The candidate block is called `{cand}` in this layout; the equations write it $g$."
            if cand != "g" else "")
    absent = {"coupled": " There is no input-gate block: $i_t = 1 - f_t$.",
              "no_forget": " There is no forget-gate block: $f_t = 1$."}.get(variant.cell, "")
    rows = [f"| `{n}` | $({', '.join(s)}{',' if len(s) == 1 else ''})$ |"
            for n, s in variant.param_shapes]
    peep = ("\n\n`P` holds the peephole weights, one row per gate: `P[0]` = $p_i$, "
            "`P[1]` = $p_f$, `P[2]` = $p_o$. Each multiplies the cell state element-wise "
            "(a diagonal matrix).") if variant.cell == "peephole" else ""
    sigs = "\n".join(f"- `{s}`" for s in variant.signatures)
    return (f"### Your variant: {variant.title} (`{variant.key}`)\n\n"
            f"The weights hold {k} gate blocks of $H$ columns each, in the order {order}."
            f"{note}{absent} Shapes are row-vector and batch-first, as in Keras: "
            f"$x_t$ is $(N, D)$, $h_t$ and $c_t$ are $(N, H)$.\n\n"
            f"$$\n{variant.equations}\n$$\n\n"
            f"$\\sigma$ is the logistic sigmoid (`lstm_core.sigmoid`) and $\\odot$ the "
            f"element-wise product.\n\n"
            f"| parameter | shape |\n|---|---|\n" + "\n".join(rows) + peep +
            f"\n\nWrite these functions (a cache is whatever your backward function needs; "
            f"each backward function returns the gradients in the order shown):\n\n{sigs}\n")


# --------------------------------------------------------------------------
# Who the student is
# --------------------------------------------------------------------------

#: The environment variable the grader sets, in the grading kernel, to the id the
#: submission came from.
STUDENT_ENV = "LSTM_COURSE_STUDENT"
#: The environment variable JupyterHub sets to the logged-in user.
HUB_USER_ENV = "JUPYTERHUB_USER"


def student_id(typed=""):
    """The id whose variant a graded notebook shows, and on which it is graded.

    Parameters
    ----------
    typed : str, optional
        What the student typed into the notebook's ``STUDENT_ID`` cell: the id
        their instructor gave them (not needed on the class's JupyterHub).

    Returns
    -------
    id : str
        In this order, the first that is set and not blank, stripped of
        surrounding whitespace: the environment variable ``LSTM_COURSE_STUDENT``
        (the grader sets it in the grading kernel to the id the submission came
        from, so a notebook that types another id is graded on its own), then
        ``JUPYTERHUB_USER`` (the user logged in on the class's hub), then
        ``typed``.

    Raises
    ------
    ValueError
        If none is set: the message tells the student to type the id their
        instructor gave them into ``STUDENT_ID``.
    TypeError
        If ``typed`` is not a string.
    """
    import os

    for name in (STUDENT_ENV, HUB_USER_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    if not isinstance(typed, str):
        raise TypeError(f"STUDENT_ID must be a string such as \"s1234\"; got {type(typed).__name__}")
    if typed.strip():
        return typed.strip()
    raise ValueError('no student id: type the id your instructor gave you into STUDENT_ID, '
                     'between the quotes (STUDENT_ID = "..."), run that cell, then this one '
                     '(on the class\'s JupyterHub the id is read by itself)')


# --------------------------------------------------------------------------
# The variant tables of the other assignments
# --------------------------------------------------------------------------
# Each table is defined here once, and read both by the graded notebook's locked
# ``variant`` cell and by the course's outside check (``checks/<assignment>.py``),
# through :func:`variant_for`. Why here rather than in the notebook: the grading
# kernel and the grader's check import the same lstm_core, so the variant a
# notebook shows and the one its check computes cannot differ; the tables are
# tested like the rest of the engine (balance over ids, every lstm-keras variant
# trainable within the budget); and a check need not execute notebook code to learn
# them. Like ``LSTM_VARIANTS``, never reorder a table in a running term: the index
# of a row is what a student's id picks.

#: The four options of the lesson's quick check, in the book's order A, B, C, D,
#: exactly as chapter 10 and the lesson-exercises notebook print them.
QUICK_CHECK_OPTIONS = (
    "Yes. The cell state stops gradients from vanishing and from exploding, so an LSTM "
    "trains as easily as a feed-forward network.",
    "Yes, as long as the forget-gate bias starts at 1.",
    "No. The cell state eases the vanishing of gradients, but gradients can still explode, "
    "memory still fades when the forget gate stays below 1, and data preparation and tuning "
    "still matter.",
    "No. An LSTM is harder to train than a plain RNN on every task.",
)
_LETTERS = "ABCD"


@dataclass(frozen=True)
class ExercisesVariant:
    """One variant of ``lesson-exercises``: the numbers of its exercises and the
    order of its quick-check options.

    Attributes
    ----------
    fade_f : float
        Exercise 1: the forget gate below 1 with which ``carry`` lets a value fade
        (the book's example is 0.9).
    fade_steps : int
        Exercise 1: how many steps it fades over.
    keep_steps : int
        Exercise 1: how many steps a value rides the cell state with f = 1, i = 0.
    gate_low, gate_high : float
        Exercise 2: a forget gate near 0 and one near 1, compared with ``memory_after``.
    memory_steps : int
        Exercise 2: the steps after which ``gate_high``'s memory is measured.
    max_norm : float
        Quick check: the global norm ``clip_by_global_norm`` clips to.
    option_order : str
        Quick check: the book's option letters in the student's order; ``'CADB'``
        lists the book's C first (the student's A), then A, D, B.
    """

    fade_f: float
    fade_steps: int
    keep_steps: int
    gate_low: float
    gate_high: float
    memory_steps: int
    max_norm: float
    option_order: str

    def __post_init__(self):
        if sorted(str(self.option_order)) != list(_LETTERS):
            raise ValueError(f"option_order must order the letters A, B, C, D; got {self.option_order!r}")
        for name in ("fade_f", "gate_low", "gate_high"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie strictly between 0 and 1; got {getattr(self, name)!r}")
        if not self.gate_low < 0.5 < self.gate_high:
            raise ValueError(f"gate_low must be near 0 and gate_high near 1; got {self.gate_low}, {self.gate_high}")
        for name in ("fade_steps", "keep_steps", "memory_steps"):
            check_positive_int(name, getattr(self, name))
        if not self.max_norm > 0:
            raise ValueError(f"max_norm must be positive; got {self.max_norm!r}")

    @property
    def key(self):
        """str: a short label, for example ``'f0.85-CADB'`` (for reports)."""
        return f"f{self.fade_f:g}-{self.option_order}"

    def letter(self, book_letter):
        """The student's letter of the book's option ``book_letter``."""
        if book_letter not in _LETTERS or len(book_letter) != 1:
            raise ValueError(f"book_letter must be one of 'A', 'B', 'C', 'D'; got {book_letter!r}")
        return _LETTERS[self.option_order.index(book_letter)]

    def book_letter(self, letter):
        """The book's letter of the student's option ``letter``."""
        if letter not in _LETTERS or len(letter) != 1:
            raise ValueError(f"letter must be one of 'A', 'B', 'C', 'D'; got {letter!r}")
        return self.option_order[_LETTERS.index(letter)]

    @property
    def options(self):
        """tuple of (str, str): ``(letter, text)`` of the four options, in the student's order."""
        return tuple((mine, QUICK_CHECK_OPTIONS[_LETTERS.index(book)])
                     for mine, book in zip(_LETTERS, self.option_order))

    @property
    def markdown(self):
        """str: the student's numbers and option order, as the notebook shows them."""
        options = "\n".join(f"- **{mine}.** {text}" for mine, text in self.options)
        return (
            f"### Your numbers (variant `{self.key}`)\n\n"
            f"The exercises below are the book's; these are the numbers the tests use for you.\n\n"
            f"**Exercise 1.** With $f = 1$ and $i = 0$, `carry` must keep a value unchanged for "
            f"**{self.keep_steps}** steps; with your fading gate **$f = {self.fade_f:g}$** and "
            f"$i = 0$, over **{self.fade_steps}** steps, `states[t]` must be "
            f"${self.fade_f:g}^{{t+1}}\\, c_0$.\n\n"
            f"**Exercise 2.** Compare a forget gate near 0, **$f = {self.gate_low:g}$**, with one "
            f"near 1, **$f = {self.gate_high:g}$**, after one step and after "
            f"**{self.memory_steps}** steps (`memory_after`).\n\n"
            f"**Quick check.** Your options are the book's, in this order. Set "
            f"`quick_check_answer` to the letter of your choice **in this list**:\n\n"
            f"{options}\n\n"
            f"Clip the exploding gradients to a global norm of **`max_norm` = {self.max_norm:g}**.\n")


#: The variants of ``lesson-exercises``. The right quick-check option (the book's C)
#: is each letter A, B, C, D in two of them.
LESSON_EXERCISES_VARIANTS = (
    ExercisesVariant(0.9, 20, 100, 0.01, 0.99, 10, 5.0, "CADB"),
    ExercisesVariant(0.8, 15, 150, 0.05, 0.95, 8, 2.0, "ACBD"),
    ExercisesVariant(0.85, 25, 200, 0.02, 0.98, 12, 1.0, "BDCA"),
    ExercisesVariant(0.95, 40, 120, 0.1, 0.97, 20, 4.0, "BADC"),
    ExercisesVariant(0.7, 10, 250, 0.03, 0.995, 30, 2.5, "CBDA"),
    ExercisesVariant(0.75, 12, 80, 0.08, 0.96, 6, 0.5, "DCAB"),
    ExercisesVariant(0.88, 30, 300, 0.04, 0.985, 15, 3.0, "DACB"),
    ExercisesVariant(0.92, 35, 60, 0.06, 0.9, 5, 1.5, "DBAC"),
)


@dataclass(frozen=True)
class SeriesVariant:
    """One variant of ``lstm-keras``: the series to forecast and the window length.

    Attributes
    ----------
    period : int
        The period of the sine wave, in steps.
    noise : float
        The standard deviation of the Gaussian noise added to every value.
    time_steps : int
        ``TIME_STEPS``, the window the model sees.

    Notes
    -----
    The series is :math:`s_t = \\sin(2\\pi (t + \\varphi) / P) + \\sigma\\,
    \\varepsilon_t`, :math:`\\varepsilon_t \\sim \\mathcal N(0, 1)`. A forecaster
    that knew the wave would be left with the noise, MSE :math:`\\sigma^2`; the
    persistence baseline (repeat the last value) has MSE :math:`1 - \\cos(2\\pi/P)
    + 2\\sigma^2`. The assignment asks for at most half the baseline's MSE, so a
    long period with much noise leaves little room: the table keeps every variant
    where the notebook's honest solution (three epochs of ``LSTM(64)``) passes with
    a margin, measured over three seeds (see ``tests/test_course_variants.py``).
    """

    period: int
    noise: float
    time_steps: int

    def __post_init__(self):
        check_positive_int("period", self.period)
        check_positive_int("time_steps", self.time_steps)
        if not self.noise >= 0:
            raise ValueError(f"noise must be non-negative; got {self.noise!r}")

    @property
    def key(self):
        """str: a short label, for example ``'p25-n0.1-T20'`` (for reports)."""
        return f"p{self.period}-n{self.noise:g}-T{self.time_steps}"

    def series(self, size, rng, phase=0):
        """``size`` values of the series, starting ``phase`` steps into the wave.

        Parameters
        ----------
        size : int
        rng : numpy.random.Generator
            The source of the noise.
        phase : int, optional

        Returns
        -------
        series : (size,) float32 ndarray
        """
        check_positive_int("size", size)
        check_generator("rng", rng)
        steps = np.arange(size) + int(phase)
        return (np.sin(2 * np.pi * steps / self.period)
                + self.noise * rng.standard_normal(size)).astype("float32")

    def fresh_stretch(self, rng, size=400):
        """A stretch of the series at a random phase (drawn first from ``rng``), as the
        hidden test and the outside check forecast it.

        Returns
        -------
        series : (size,) float32 ndarray
        """
        check_generator("rng", rng)
        return self.series(size, rng, phase=int(rng.integers(0, self.period)))

    @property
    def markdown(self):
        """str: the student's series and window, as the notebook shows them."""
        return (f"### Your series (variant `{self.key}`)\n\n"
                f"A sine wave of period **{self.period}** steps plus Gaussian noise of standard "
                f"deviation **{self.noise:g}**: "
                f"$s_t = \\sin(2\\pi t / {self.period}) + {self.noise:g}\\,\\varepsilon_t$. "
                f"Your model sees windows of **`TIME_STEPS` = {self.time_steps}** values. "
                f"The data cell below makes this series; the tests use it.\n")


#: The variants of ``lstm-keras``: periods 16 to 30 steps, noise 0.05 to 0.15, windows of 12 to
#: 20 values (the longest window sets the slowest training; the first row is the series the
#: assignment had before it had variants).
LSTM_KERAS_VARIANTS = (
    SeriesVariant(25, 0.1, 20),
    SeriesVariant(16, 0.15, 12),
    SeriesVariant(20, 0.15, 16),
    SeriesVariant(30, 0.1, 20),
    SeriesVariant(20, 0.05, 12),
    SeriesVariant(30, 0.05, 16),
)

#: Each assignment's variant table, by assignment name.
ASSIGNMENT_VARIANTS = MappingProxyType({
    "lesson-exercises": LESSON_EXERCISES_VARIANTS,
    "lstm-from-scratch": LSTM_VARIANTS,
    "lstm-keras": LSTM_KERAS_VARIANTS,
})


def variant_for(term_key, assignment, student_id):
    """A student's variant of an assignment: the row of its table their id picks.

    Parameters
    ----------
    term_key : str or bytes
        The course's key for the term (``c.TermKey.term_key``; the release writes it
        into each notebook's ``variant`` cell).
    assignment : {'lesson-exercises', 'lstm-from-scratch', 'lstm-keras'}
    student_id : str
        The student's id, as the grader sees it (:func:`student_id` in a notebook).

    Returns
    -------
    variant : ExercisesVariant, LSTMVariant or SeriesVariant
        ``ASSIGNMENT_VARIANTS[assignment][variant_index(term_key, assignment,
        student_id, n)]`` with ``n`` the table's length; every variant has ``key``
        (a short label) and ``markdown`` (what the notebook shows).

    Raises
    ------
    ValueError
        For an assignment without a table (the message lists those with one), or as
        :func:`variant_index`.
    """
    table = ASSIGNMENT_VARIANTS.get(assignment)
    if table is None:
        raise ValueError(f"assignment must be one of {tuple(ASSIGNMENT_VARIANTS)!r}; got {assignment!r}")
    return table[variant_index(term_key, assignment, student_id, len(table))]
