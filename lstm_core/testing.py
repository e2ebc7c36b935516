"""Run a student's function with a reference implementation switched off (for graded notebooks).

The ``lstm-from-scratch`` assignment asks for ``lstm_step_forward``, ``lstm_forward``,
``lstm_step_backward`` and ``lstm_backward`` written in NumPy, with ``lstm_core``'s signatures.
A "solution" that only calls ``lstm_core``'s own functions must earn nothing, however it reaches
them: ``import lstm_core``, ``from lstm_core import lstm_forward as mine``, ``lstm_core.lstm``, a
closure or a default argument that holds the function object.

:func:`reference_disabled` therefore does not rebind names (an alias would escape that); it
swaps the *code object* of every plain function defined in the given modules for one that
raises :class:`ReferenceImplementationCalled`, so every reference to those function objects is
disabled at once, and restores the code on exit. Classes (``lstm_core.LSTMCache``) and helpers
defined elsewhere (``lstm_core.sigmoid``, ``numerical_gradient``, ``rel_error``) keep working.

The tests compute their expected values with ``lstm_core`` *before* entering the block.

This module must stay light: the graded notebooks import it from the student's own install of
``lstm_core`` (no grader, no nbgrader, no TensorFlow).
"""

from __future__ import annotations

import contextlib
import types

__all__ = ["ReferenceImplementationCalled", "reference_disabled", "module_functions"]


class ReferenceImplementationCalled(RuntimeError):
    """A student's function called the reference implementation it was asked to write."""


def _disabled(*args, **kwargs):
    # This code runs as the disabled function, with *its* module's globals: it may use only
    # builtins, hence the import by name.
    raise __import__("lstm_core.testing", fromlist=["testing"]).ReferenceImplementationCalled(
        "this calls lstm_core's own implementation of what the exercise asks you to write "
        "yourself in NumPy: it earns no points. (lstm_core.sigmoid, numerical_gradient and "
        "rel_error may be used.)")


def module_functions(module):
    """The plain functions defined in ``module`` itself (not imported into it).

    Parameters
    ----------
    module : module

    Returns
    -------
    functions : list of function
        In the order of ``vars(module)``.
    """
    return [obj for obj in vars(module).values()
            if isinstance(obj, types.FunctionType)
            and obj.__module__ == module.__name__
            and not obj.__code__.co_freevars]


@contextlib.contextmanager
def reference_disabled(*modules):
    """Within the block, every function defined in ``modules`` raises when called.

    Parameters
    ----------
    *modules : module
        For example ``lstm_core.lstm``.

    Yields
    ------
    functions : list of function
        The functions that were disabled.

    Raises
    ------
    ReferenceImplementationCalled
        From inside the block, when a disabled function is called.
    """
    functions = [f for m in modules for f in module_functions(m)]
    saved = [(f, f.__code__) for f in functions]
    try:
        for f in functions:
            f.__code__ = _disabled.__code__
        yield functions
    finally:
        for f, code in saved:
            f.__code__ = code
