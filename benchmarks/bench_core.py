"""lstm_core's LSTM against Keras/TensorFlow's, side by side in one run.

For each shape ``(N, T, D, H)`` it checks that both give the same outputs, then
times, interleaved and repeated, the forward pass and the forward pass followed
by the backward pass (TensorFlow: a ``tf.function`` around the layer, and around
the layer under ``tf.GradientTape`` for the gradients on the input and all
weights). It prints the median time ratio ``lstm_core / TensorFlow``, the
achieved GFLOP/s and that as a fraction of this machine's float32 matrix-product
peak, measured in the same run; then the peak memory of forward+backward at the
largest shape next to the size of what backward keeps (the cache).

Usage::

    .venv/bin/python benchmarks/bench_core.py [--repeats 7] [--json benchmarks/bench_core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import lstm_core as lc

SHAPES = [(32, 50, 10, 64), (64, 100, 32, 128), (256, 100, 64, 256)]


def matmul_peak_gflops(n=2048, repeats=5):
    """Median float32 GFLOP/s of one large ``np.matmul`` on this machine."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    np.matmul(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def lstm_flops(N, T, D, H, backward=False):
    """Floating-point operations of the matrix products (the dominant cost).

    Forward: ``2 N T (D + H) 4H``. Backward adds the products for dx, dh, dWx and
    dWh: twice the forward's.
    """
    fwd = 2 * N * T * (D + H) * 4 * H
    return 3 * fwd if backward else fwd


def cache_nbytes(cache):
    """Bytes held by the arrays that :func:`lstm_core.lstm_backward` reads."""
    return sum(a.nbytes for a in (cache.x, cache.Wx, cache.Wh, cache.hs, cache.cs,
                                  cache.gates_tm, cache.tanh_cs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "bench_core.json"))
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    peak = matmul_peak_gflops()
    print(f"float32 matmul peak (2048^3, median of 5): {peak:.1f} GFLOP/s")
    rows = []
    for N, T, D, H in SHAPES:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, T, D), dtype=np.float32)
        layer = keras.layers.LSTM(H, return_sequences=True)
        layer(keras.Input((T, D)))
        Wx, Wh, b = lc.weights_from_keras(layer)
        xt = tf.constant(x)
        dh = np.ones((N, T, H), np.float32)
        weights = [layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias]

        @tf.function
        def tf_forward(inp):
            return layer(inp)

        @tf.function
        def tf_forward_backward(inp):
            with tf.GradientTape() as tape:
                tape.watch(inp)
                out = layer(inp)
                loss = tf.reduce_sum(out)
            return tape.gradient(loss, [inp] + weights)

        def core_forward():
            return lc.lstm_forward(x, Wx, Wh, b)

        def core_forward_backward():
            h, c, cache = lc.lstm_forward(x, Wx, Wh, b)
            return lc.lstm_backward(dh, cache)

        # agreement before timing
        err_f = float(np.abs(core_forward()[0] - tf_forward(xt).numpy()).max())
        tf_grads = tf_forward_backward(xt)
        core_grads = core_forward_backward()
        pairs = [(core_grads[0], tf_grads[0]), (core_grads[3], tf_grads[1]),
                 (core_grads[4], tf_grads[2]), (core_grads[5], tf_grads[3])]
        err_b = max(float(np.linalg.norm(a - g.numpy()) / np.linalg.norm(g.numpy())) for a, g in pairs)
        assert err_f < 1e-4 and err_b < 1e-3, (err_f, err_b)

        contenders = {
            "core_fwd": core_forward,
            "tf_fwd": lambda: tf_forward(xt).numpy(),
            "core_fwdbwd": core_forward_backward,
            "tf_fwdbwd": lambda: [g.numpy() for g in tf_forward_backward(xt)],
        }
        times = {k: [] for k in contenders}
        for _ in range(args.repeats):
            for name, fn in contenders.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {
            "shape": [N, T, D, H],
            "max_abs_err_forward": err_f,
            "rel_err_grads": err_b,
            **{f"median_s_{k}": v for k, v in med.items()},
            "ratio_fwd": med["core_fwd"] / med["tf_fwd"],
            "ratio_fwdbwd": med["core_fwdbwd"] / med["tf_fwdbwd"],
            "gflops_fwd": lstm_flops(N, T, D, H) / med["core_fwd"] / 1e9,
            "gflops_fwdbwd": lstm_flops(N, T, D, H, True) / med["core_fwdbwd"] / 1e9,
        }
        row["peak_frac_fwd"] = row["gflops_fwd"] / peak
        row["peak_frac_fwdbwd"] = row["gflops_fwdbwd"] / peak
        rows.append(row)

    # memory at the largest shape
    N, T, D, H = SHAPES[-1]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D), dtype=np.float32)
    Wx, Wh, b = lc.init_lstm_params(D, H, rng)
    dh = np.ones((N, T, H), np.float32)
    tracemalloc.start()
    h, c, cache = lc.lstm_forward(x, Wx, Wh, b)
    kept = cache_nbytes(cache)
    lc.lstm_backward(dh, cache)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # x and dh were allocated before tracing started, so the peak counts only
    # what forward and backward allocate: the cache, outputs, gradients, scratch.
    memory = {"shape": [N, T, D, H], "peak_bytes": peak_bytes, "cache_bytes": kept,
              "peak_over_cache": peak_bytes / kept}

    header = (f"{'N,T,D,H':>18} | {'fwd ratio':>9} | {'fwd+bwd ratio':>13} | {'GFLOP/s fwd':>11} | "
              f"{'GFLOP/s f+b':>11} | {'% peak f+b':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{str(tuple(r['shape'])):>18} | {r['ratio_fwd']:9.2f} | {r['ratio_fwdbwd']:13.2f} | "
              f"{r['gflops_fwd']:11.1f} | {r['gflops_fwdbwd']:11.1f} | {100 * r['peak_frac_fwdbwd']:9.0f}%")
    print(f"ratio = lstm_core time / TensorFlow time, median of {args.repeats} interleaved runs")
    print(f"memory at {tuple(memory['shape'])}: peak {memory['peak_bytes'] / 2**20:.0f} MiB "
          f"(tracemalloc, forward+backward) vs cache {memory['cache_bytes'] / 2**20:.0f} MiB "
          f"= {memory['peak_over_cache']:.2f}x")
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "numpy": np.__version__, "tensorflow": tf.__version__},
              "matmul_peak_gflops": peak, "rows": rows, "memory": memory,
              "repeats": args.repeats}
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
