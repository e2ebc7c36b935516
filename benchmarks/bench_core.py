"""lstm_core's LSTM against Keras/TensorFlow's, side by side in one run.

For each thread count (``--threads 1,2``) and each shape ``(N, T, D, H)`` it
checks that both give the same outputs and gradients, then times, alternating
between the two and repeated, the forward pass and the forward pass followed by
the backward pass (TensorFlow: a ``tf.function`` around the layer, and around
the layer under ``tf.GradientTape`` for the gradients on the input and all
weights; lstm_core: ``lstm_forward``, then ``lstm_backward``), float32, the same
weights. It prints the median time ratio ``lstm_core / TensorFlow``, the
achieved GFLOP/s, and that as a fraction of this machine's float32
matrix-product peak at the same thread count, measured in the same run (the
best 2048^3 product of NumPy's and TensorFlow's, sampled before the first shape
and after each, so that a moment of load elsewhere does not lower it); then the peak memory of
forward+backward at the largest shape next to the size of the cache.

How the contenders are kept from disturbing each other: each runs in its own
long-lived worker process (the TensorFlow one never shares a process with the
NumPy one); the parent sends one request at a time, alternating between the two
and the order of each pair (all repeats of the forward pass first, then all of
forward+backward, as a loop of either would run them), and before each request
waits until both workers have used no CPU for 30 ms, so that neither
TensorFlow's thread pools nor OpenBLAS's threads are still spinning from the
previous call. Each worker times its own call with ``time.perf_counter``, so
pipe transfers are not counted.

Thread settings, the same number ``k`` of compute threads on both sides:

* lstm_core worker: ``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=k``
  (the matrix products use ``k`` threads; NumPy's element-wise loops use one);
* TensorFlow worker: ``tf.config.threading`` intra-op ``k``, inter-op 1,
  ``OMP_NUM_THREADS=k``, oneDNN as TensorFlow ships it.

Usage::

    .venv/bin/python benchmarks/bench_core.py [--repeats 7] [--threads 1,2]
        [--json benchmarks/bench_core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

SHAPES = [(32, 50, 10, 64), (64, 100, 32, 128), (256, 100, 64, 256)]
CONTENDERS = ("fwd", "fwdbwd")


def lstm_flops(N, T, D, H, backward=False):
    """Floating-point operations of the matrix products (the dominant cost).

    Forward: ``2 N T (D + H) 4H``. Backward adds the products for dx, dh, dWx and
    dWh: twice the forward's.
    """
    fwd = 2 * N * T * (D + H) * 4 * H
    return 3 * fwd if backward else fwd


def _median_seconds(fn, repeats=5):
    """Median wall time of ``fn()`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------
# Workers: one process per contender, reading pickled requests on stdin.
# --------------------------------------------------------------------------

class _CoreSide:
    """lstm_core's contender: forward, forward+backward, NumPy's matmul peak.

    Parameters
    ----------
    threads : int
        Not used: OpenBLAS took its thread count from the environment that the
        parent set before this process imported NumPy.
    """

    def __init__(self, threads):
        import lstm_core

        self.lc = lstm_core

    def matmul_peak(self, n=2048):
        """float32 GFLOP/s of an ``(n, n) @ (n, n)`` ``np.matmul``, median of 5."""
        a = np.ones((n, n), np.float32)
        return 2 * n ** 3 / _median_seconds(lambda: np.matmul(a, a)) / 1e9

    def setup(self, x, Wx, Wh, b, dh):
        """Hold the data and return forward output and gradients to compare."""
        lc = self.lc

        def forward():
            return lc.lstm_forward(x, Wx, Wh, b)

        def forward_backward():
            _, _, cache = lc.lstm_forward(x, Wx, Wh, b)
            return lc.lstm_backward(dh, cache)

        self.fns = {"fwd": forward, "fwdbwd": forward_backward}
        dx, _, _, dWx, dWh, db = forward_backward()
        return np.ascontiguousarray(forward()[0]), [np.ascontiguousarray(g) for g in (dx, dWx, dWh, db)]

    def memory(self, shape):
        """Peak traced bytes of forward+backward at ``shape`` and the cache's bytes."""
        import tracemalloc

        N, T, D, H = shape
        rng = np.random.default_rng(1)
        x = rng.standard_normal((N, T, D), dtype=np.float32)
        Wx, Wh, b = self.lc.init_lstm_params(D, H, rng)
        dh = np.ones((N, T, H), np.float32)
        tracemalloc.start()
        _, _, cache = self.lc.lstm_forward(x, Wx, Wh, b)
        kept = cache.nbytes
        self.lc.lstm_backward(dh, cache)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # x and dh were allocated before tracing started, so the peak counts only
        # what forward and backward allocate: the cache, outputs, gradients, scratch.
        return {"shape": list(shape), "peak_bytes": peak, "cache_bytes": kept,
                "peak_over_cache": peak / kept}


class _TFSide:
    """Keras/TensorFlow's contender: the same layer, in ``tf.function``.

    Parameters
    ----------
    threads : int
        TensorFlow's intra-op thread count (inter-op is 1).
    """

    def __init__(self, threads):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self.tf = tf

    def matmul_peak(self, n=2048):
        """float32 GFLOP/s of an ``(n, n) @ (n, n)`` ``tf.matmul``, median of 5."""
        tf = self.tf
        a = tf.ones((n, n), tf.float32)
        mm = tf.function(lambda m: tf.matmul(m, m))
        return 2 * n ** 3 / _median_seconds(lambda: mm(a).numpy()) / 1e9

    def setup(self, x, Wx, Wh, b, dh):
        """Build the layer with the given weights; return output and gradients."""
        import keras

        import lstm_core as lc

        tf = self.tf
        N, T, D = x.shape
        layer = keras.layers.LSTM(Wh.shape[0], return_sequences=True)
        layer(keras.Input((T, D)))
        lc.weights_to_keras(layer, Wx, Wh, b)
        weights = [layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias]
        xt, dht = tf.constant(x), tf.constant(dh)

        @tf.function
        def forward(inp):
            return layer(inp)

        @tf.function
        def forward_backward(inp):
            with tf.GradientTape() as tape:
                tape.watch(inp)
                out = layer(inp)
                loss = tf.reduce_sum(out * dht)
            return tape.gradient(loss, [inp] + weights)

        self.fns = {"fwd": lambda: forward(xt).numpy(),
                    "fwdbwd": lambda: [g.numpy() for g in forward_backward(xt)]}
        return self.fns["fwd"](), self.fns["fwdbwd"]()


def _worker(side, threads):
    """Serve requests ``(method, args)`` from stdin until ``None`` arrives."""
    proto_in, proto_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                            # stray prints must not corrupt the protocol
    obj = (_CoreSide if side == "core" else _TFSide)(threads)
    while True:
        request = pickle.load(proto_in)
        if request is None:
            return
        method, args = request
        if method == "time":
            fn = obj.fns[args[0]]
            t0 = time.perf_counter()
            out = fn()
            reply = time.perf_counter() - t0
            del out                          # freeing the result is not timed
        else:
            reply = getattr(obj, method)(*args)
        pickle.dump(reply, proto_out, protocol=pickle.HIGHEST_PROTOCOL)
        proto_out.flush()


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, side, threads):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
                   **{v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                "MKL_NUM_THREADS")})
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", side, "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env)

    def call(self, method, *args):
        """Send one request and return the reply."""
        try:
            pickle.dump((method, args), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
            return pickle.load(self.proc.stdout)
        except (EOFError, BrokenPipeError):
            self.log.seek(0)
            sys.stderr.write(self.log.read().decode(errors="replace"))
            raise RuntimeError(f"worker {self.proc.args[2:]} died") from None

    def cpu_ticks(self):
        """User plus system CPU time of the worker, in clock ticks (Linux)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except OSError:
            return None

    def close(self):
        """Ask the worker to exit and wait for it (end it if it does not)."""
        try:
            pickle.dump(None, self.proc.stdin)
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _wait_idle(workers, window=0.03, timeout=2.0):
    """Return once no worker has used CPU for ``window`` seconds (or ``timeout``)."""
    deadline = time.perf_counter() + timeout
    before = [w.cpu_ticks() for w in workers]
    while time.perf_counter() < deadline:
        time.sleep(window)
        now = [w.cpu_ticks() for w in workers]
        if now == before:
            return
        before = now


def run_threads(threads, repeats):
    """Every shape at one thread count.

    Returns
    -------
    peaks : dict
        Best float32 matmul GFLOP/s of each side, ``{"numpy": .., "tensorflow": ..}``.
    samples : dict
        Every peak sample, same keys.
    rows : list of dict
        One per shape: median seconds, ratios, GFLOP/s, fractions of the peak.
    memory : dict
        Peak traced bytes of forward+backward at the largest shape, and the cache's.
    """
    import lstm_core as lc

    core, tf = _Worker("core", threads), _Worker("tf", threads)
    workers = (core, tf)
    try:
        samples = {"numpy": [], "tensorflow": []}

        def sample_peaks():
            for name, w in (("numpy", core), ("tensorflow", tf)):
                _wait_idle(workers)
                samples[name].append(w.call("matmul_peak"))

        sample_peaks()
        rows = []
        for N, T, D, H in SHAPES:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((N, T, D), dtype=np.float32)
            Wx, Wh, b = lc.init_lstm_params(D, H, rng)
            dh = rng.standard_normal((N, T, H), dtype=np.float32)
            # agreement before timing (this also warms both up)
            h_core, g_core = core.call("setup", x, Wx, Wh, b, dh)
            h_tf, g_tf = tf.call("setup", x, Wx, Wh, b, dh)
            err_f = float(np.abs(h_core - h_tf).max())
            err_b = max(float(np.linalg.norm(a - g) / np.linalg.norm(g)) for a, g in zip(g_core, g_tf))
            assert err_f < 1e-4 and err_b < 1e-3, (err_f, err_b)

            times = {f"{side}_{c}": [] for c in CONTENDERS for side in ("core", "tf")}
            # All repeats of one measurement, then the other, so that a forward
            # pass does not pay for the memory the previous backward pass gave
            # back to the operating system; the two sides alternate throughout.
            for c in CONTENDERS:
                for r in range(repeats):
                    pair = (("core", core), ("tf", tf))
                    for side, w in (pair if r % 2 == 0 else pair[::-1]):
                        _wait_idle(workers)
                        times[f"{side}_{c}"].append(w.call("time", c))
            med = {k: statistics.median(v) for k, v in times.items()}
            sample_peaks()
            row = {"threads": threads, "shape": [N, T, D, H],
                   "max_abs_err_forward": err_f, "rel_err_grads": err_b,
                   **{f"median_s_{k}": v for k, v in med.items()}}
            for c in CONTENDERS:
                row[f"ratio_{c}"] = med[f"core_{c}"] / med[f"tf_{c}"]
                row[f"gflops_{c}"] = lstm_flops(N, T, D, H, c == "fwdbwd") / med[f"core_{c}"] / 1e9
            rows.append(row)
        # the machine's peak: the best product seen by either side in this run
        peaks = {name: max(v) for name, v in samples.items()}
        for row in rows:
            for c in CONTENDERS:
                row[f"peak_frac_{c}"] = row[f"gflops_{c}"] / max(peaks.values())
        memory = core.call("memory", SHAPES[-1])
    finally:
        for w in workers:
            w.close()
    return peaks, samples, rows, memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "bench_core.json"))
    parser.add_argument("--worker", choices=("core", "tf"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.worker, int(args.threads))

    load_before = os.getloadavg()
    results = []
    for k in (int(s) for s in args.threads.split(",")):
        peaks, samples, rows, memory = run_threads(k, args.repeats)
        results.append({"threads": k, "matmul_peak_gflops": peaks, "matmul_gflops_samples": samples,
                        "rows": rows})
        print(f"\n{k} thread(s): lstm_core OPENBLAS/OMP/MKL_NUM_THREADS={k}; TensorFlow intra-op {k}, "
              f"inter-op 1, OMP_NUM_THREADS={k}")
        peak = max(peaks.values())
        print(f"float32 matmul peak (2048^3, best of {len(SHAPES) + 1} medians of 5, sampled through "
              f"the run): NumPy {peaks['numpy']:.1f}, "
              f"TensorFlow {peaks['tensorflow']:.1f} GFLOP/s; peak = {peak:.1f}")
        header = (f"{'N,T,D,H':>18} | {'fwd ms core/tf':>15} | {'ratio':>5} | {'f+b ms core/tf':>15} | "
                  f"{'ratio':>5} | {'GFLOP/s fwd':>11} | {'GFLOP/s f+b':>11} | {'%peak fwd':>9} | {'%peak f+b':>9}")
        print(header)
        print("-" * len(header))
        for r in rows:
            fwd = f"{1e3 * r['median_s_core_fwd']:.1f}/{1e3 * r['median_s_tf_fwd']:.1f}"
            fb = f"{1e3 * r['median_s_core_fwdbwd']:.1f}/{1e3 * r['median_s_tf_fwdbwd']:.1f}"
            print(f"{str(tuple(r['shape'])):>18} | {fwd:>15} | {r['ratio_fwd']:5.2f} | {fb:>15} | "
                  f"{r['ratio_fwdbwd']:5.2f} | {r['gflops_fwd']:11.1f} | {r['gflops_fwdbwd']:11.1f} | "
                  f"{100 * r['peak_frac_fwd']:8.0f}% | {100 * r['peak_frac_fwdbwd']:8.0f}%")
        print(f"agreement, checked before timing: forward max |h - h_tf| "
              f"{max(r['max_abs_err_forward'] for r in rows):.1e}, gradients max relative error "
              f"{max(r['rel_err_grads'] for r in rows):.1e}")
    load_after = os.getloadavg()
    peaks = {r["threads"]: r["matmul_peak_gflops"] for r in results}
    for k in peaks:
        for side in ("numpy", "tensorflow"):
            if k > 1 and 1 in peaks and peaks[k][side] < 0.75 * k * peaks[1][side]:
                print(f"\nwarning: {side}'s {k}-thread matmul peak is only "
                      f"{peaks[k][side] / peaks[1][side]:.1f}x its 1-thread one: other load held the "
                      f"cores in that part of the run, so its ratios measure that contention "
                      f"(for OpenBLAS, its per-product thread hand-off), not the engine")
    print(f"\nratio = lstm_core time / TensorFlow time, medians of {args.repeats} alternating runs, "
          f"each contender in its own process, both idle before each call")
    print(f"memory at {tuple(memory['shape'])}: peak {memory['peak_bytes'] / 2**20:.0f} MiB "
          f"(tracemalloc, forward+backward) vs cache {memory['cache_bytes'] / 2**20:.0f} MiB "
          f"= {memory['peak_over_cache']:.2f}x")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    import importlib.metadata as md

    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "numpy": np.__version__, "tensorflow": md.version("tensorflow")},
              "load_average_before": load_before, "load_average_after": load_after,
              "repeats": args.repeats, "results": results, "memory": memory}
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
