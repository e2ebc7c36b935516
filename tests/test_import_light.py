"""`import lstm_core` stays TensorFlow-free (the numpy-only notebooks and their grading depend on it)."""

import subprocess
import sys


def test_import_lstm_core_does_not_import_tensorflow_or_keras():
    code = ("import sys, lstm_core; "
            "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import lstm_core imported {out.stdout.strip()}"
