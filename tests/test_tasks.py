"""The synthetic sequence tasks: shapes, reproducibility, value ranges, baselines."""

import numpy as np
import pytest

from lstm_core.tasks import (
    adding_baseline_mse,
    adding_problem,
    delayed_recall,
    make_windows,
    noisy_sine,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- adding problem

def test_adding_problem_shapes_dtype_and_ranges():
    X, y = adding_problem(50, 17, rng())
    assert X.shape == (50, 17, 2) and y.shape == (50, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert np.all((X[..., 0] >= 0) & (X[..., 0] < 1))
    assert set(np.unique(X[..., 1])) == {0.0, 1.0}
    assert np.all((y >= 0) & (y < 2))
    X64, y64 = adding_problem(3, 4, rng(), dtype=np.float64)
    assert X64.dtype == np.float64 and y64.dtype == np.float64


def test_adding_problem_markers_one_in_each_half_and_target_is_their_sum():
    T = 21
    X, y = adding_problem(400, T, rng(1))
    marker = X[..., 1]
    assert np.all(marker.sum(axis=1) == 2)
    assert np.all(marker[:, :T // 2].sum(axis=1) == 1)
    assert np.all(marker[:, T // 2:].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * marker).sum(axis=1), rtol=1e-6)
    # markers land everywhere in their half, not at a fixed place
    assert len(np.unique(marker[:, :T // 2].argmax(axis=1))) == T // 2
    assert len(np.unique(marker[:, T // 2:].argmax(axis=1))) == T - T // 2


def test_adding_problem_mean_prediction_baseline_is_one_sixth():
    # The target is the sum of two U[0,1) values (a triangular distribution):
    # Var(y) = 1/6 and Var((y - mu)^2) = mu4 - sigma^4 = 1.4 sigma^4, so the
    # standard error of the measured MSE over N samples is
    # sqrt(1.4) / 6 / sqrt(N) ~= 0.0014 for N = 20000; 5 standard errors:
    N = 20_000
    _, y = adding_problem(N, 10, rng(2), dtype=np.float64)
    mse = float(np.mean((y - y.mean()) ** 2))
    tolerance = 5 * np.sqrt(1.4) / 6 / np.sqrt(N)
    assert abs(mse - 1 / 6) < tolerance, (mse, tolerance)
    assert abs(mse - adding_baseline_mse()) < tolerance
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(1 / 6) / np.sqrt(N)


def test_adding_problem_is_reproducible_and_pure():
    a = adding_problem(5, 8, rng(3))
    b = adding_problem(5, 8, rng(3))
    c = adding_problem(5, 8, rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_samples=0, T=5), "n_samples must be an integer >= 1; got 0"),
    (dict(n_samples=4, T=1), "T must be an integer >= 2; got 1"),
    (dict(n_samples=4.5, T=5), "n_samples must be an integer"),
])
def test_adding_problem_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adding_problem(rng=rng(), **kwargs)


def test_tasks_reject_a_non_generator_rng():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        adding_problem(4, 5, 0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        delayed_recall(4, 5, 1, np.random.RandomState(0))


# ---------------------------------------------------------------- delayed recall

def test_delayed_recall_target_is_the_value_lag_steps_before_the_last():
    T = 12
    for lag in (0, 3, T - 1):
        X, y = delayed_recall(30, T, lag, rng(lag))
        assert X.shape == (30, T, 1) and y.shape == (30, 1)
        assert X.dtype == np.float32 and y.dtype == np.float32
        np.testing.assert_array_equal(y, X[:, T - 1 - lag])
        assert np.all((X >= -1) & (X < 1))


def test_delayed_recall_mean_prediction_baseline_is_one_third():
    # U[-1,1): Var = 1/3, Var(x^2) = 1/5 - 1/9 = 4/45; 5 standard errors.
    N = 20_000
    _, y = delayed_recall(N, 6, 2, rng(5), dtype=np.float64)
    mse = float(np.mean((y - y.mean()) ** 2))
    assert abs(mse - 1 / 3) < 5 * np.sqrt(4 / 45) / np.sqrt(N), mse


def test_delayed_recall_is_reproducible():
    a = delayed_recall(5, 8, 2, rng(6))
    b = delayed_recall(5, 8, 2, rng(6))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("lag", [-1, 10, 11, 2.0])
def test_delayed_recall_rejects_a_lag_outside_the_sequence(lag):
    with pytest.raises(ValueError, match=r"lag must be an integer in 0 \.\. T - 1 = 0 \.\. 9"):
        delayed_recall(4, 10, lag, rng())


# ---------------------------------------------------------------- noisy sine

def test_noisy_sine_shapes_and_next_value():
    X, y = noisy_sine(40, 25, rng(7))
    assert X.shape == (40, 25, 1) and y.shape == (40, 1)
    assert X.dtype == np.float32
    # without noise, the target continues the sine of the window
    X0, y0 = noisy_sine(8, 30, rng(8), period=10.0, noise=0.0, dtype=np.float64)
    assert np.all(np.abs(X0) <= 1)
    # period 10: s[T] = s[T - 10]
    np.testing.assert_allclose(y0[:, 0], X0[:, 30 - 10, 0], atol=1e-12)
    # every window has its own phase
    assert len(np.unique(np.round(X0[:, 0, 0], 8))) == 8


def test_noisy_sine_noise_has_the_requested_standard_deviation():
    a = noisy_sine(2000, 5, rng(9), noise=0.0, dtype=np.float64)
    b = noisy_sine(2000, 5, rng(9), noise=0.3, dtype=np.float64)
    # same generator state, so the phases agree and only the noise differs
    residual = np.concatenate([(b[0] - a[0]).ravel(), (b[1] - a[1]).ravel()])
    assert abs(residual.std() - 0.3) < 0.01
    np.testing.assert_array_equal(noisy_sine(3, 4, rng(1))[0], noisy_sine(3, 4, rng(1))[0])


def test_noisy_sine_rejects_bad_parameters():
    with pytest.raises(ValueError, match="period must be positive"):
        noisy_sine(3, 4, rng(), period=0)
    with pytest.raises(ValueError, match="noise must be non-negative"):
        noisy_sine(3, 4, rng(), noise=-0.1)


# ---------------------------------------------------------------- make_windows

def test_make_windows_on_a_1d_series():
    s = np.arange(10.0)
    X, y = make_windows(s, 3)
    assert X.shape == (7, 3, 1) and y.shape == (7, 1)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(X[-1, :, 0], [6, 7, 8])
    np.testing.assert_array_equal(y[:, 0], np.arange(3, 10))
    X2, y2 = make_windows(s, 3, horizon=4)
    assert X2.shape == (4, 3, 1) and y2.shape == (4, 1)
    np.testing.assert_array_equal(y2[:, 0], X2[:, -1, 0] + 4)
    # copies: writing into the windows leaves the series alone
    X[0, 0, 0] = 99
    assert s[0] == 0


def test_make_windows_on_a_multivariate_series_keeps_float_dtype():
    s = np.arange(24, dtype=np.float32).reshape(12, 2)
    X, y = make_windows(s, 5, horizon=2)
    assert X.shape == (12 - 5 - 2 + 1, 5, 2) and y.shape == (6, 2)
    assert X.dtype == np.float32 and y.dtype == np.float32
    for k in range(6):
        np.testing.assert_array_equal(X[k], s[k:k + 5])
        np.testing.assert_array_equal(y[k], s[k + 5 + 2 - 1])
    Xi, _ = make_windows(np.arange(5), 2)
    assert Xi.dtype == np.float64


def test_make_windows_exact_fit_gives_one_window():
    X, y = make_windows(np.arange(6.0), 4, horizon=2)
    assert X.shape == (1, 4, 1)
    assert y[0, 0] == 5


@pytest.mark.parametrize("args, match", [
    ((np.arange(5.0), 5), r"T \+ horizon must be <= len\(series\): T \+ horizon = 5 \+ 1 = 6 > S = 5"),
    ((np.arange(5.0), 3, 3), r"= 6 > S = 5"),
    ((np.arange(5.0), 0), "T must be an integer >= 1; got 0"),
    ((np.arange(5.0), 2, 0), "horizon must be an integer >= 1; got 0"),
    ((np.zeros((4, 3, 2)), 2), r"series must have shape \(S,\) or \(S, F\); got \(4, 3, 2\)"),
    ((np.array(["a", "b", "c"]), 1), "series must be numeric"),
])
def test_make_windows_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        make_windows(*args)
