#!/usr/bin/env python3
"""Coefficients of the vector log / log1p kernels (Sources/Kernels/Math/*KernelFloatLog.swift).

log(1 + f) = 2 atanh(s) = 2s + s R(z),  s = f / (2 + f),  z = s^2,  R(z) = sum_k 2 z^k / (2k + 1).
The kernels reduce arguments to f in [-0.2929, 0.5] (s in [-0.1716, 0.2], z <= 0.04), a wider
interval than fdlibm's [sqrt(1/2) - 1, sqrt(2) - 1] so that log1p(u), u in [0, 1], needs no
rounding-correction term. Float keeps fdlibm's 4 coefficients (e_logf.c; 0.007 ulp of
polynomial error on the wider interval, printed below); Double's 8 coefficients are a Chebyshev
fit (mpmath.chebyfit) of R(z)/z on [0, 0.04], rounded to double.

Float's log1p on [0, 1] (the sigmoid family's log1p(e^-|x|)) skips the reduction: log1p(u) =
u P(u) with P a degree-10 Chebyshev fit of log1p(u) / u on [0, 1], rounded to float (printed
last, with its error evaluated in float32 Horner / FMA arithmetic).

Run: python3 Benchmarks/Coefficients/log-coefficients.py   (needs mpmath and numpy)
"""
from mpmath import mp, mpf, log, log1p, chebyfit, sqrt
mp.dps = 50

def rz_over_z(z):
    if z == 0:
        return mpf(2) / 3
    s = sqrt(z)
    return (log((1 + s) / (1 - s)) - 2 * s) / s / z

def rel_error(coeffs, f):
    s = f / (2 + f); z = s * s
    r = z * sum(c * z**i for i, c in enumerate(coeffs))
    approx = f - f * f / 2 + s * (f * f / 2 + r)
    return abs(approx - log(1 + f)) / abs(log(1 + f))

def worst(coeffs, lo, hi, unit, n=4000):
    pts = [lo + (hi - lo) * mpf(i) / n for i in range(n + 1)]
    return max(rel_error(coeffs, f) for f in pts if abs(f) > 1e-12) / unit

fdlibm_float = [mpf(0xaaaaaa) / 2**24, mpf(0xccce13) / 2**25, mpf(0x91e9ee) / 2**25, mpf(0xf89e26) / 2**26]
print("float (fdlibm e_logf.c): polynomial error on f in [-0.2929, 0.5]: %.4f ulp" %
      worst(fdlibm_float, mpf(-0.2929), mpf(0.5), mpf(2)**-24))

poly, err = chebyfit(rz_over_z, [0, mpf("0.04")], 8, error=True)
coeffs = [float(c) for c in reversed(poly)]          # lowest degree first, rounded to double
print("double: Chebyshev fit of R(z)/z on [0, 0.04], degree 7, fit error %.3g" % err)
for i, c in enumerate(coeffs):
    print("  c%d = %s   // %.17g" % (i + 1, c.hex(), c))
print("double: polynomial error on f in [-0.2929, 0.5]: %.4f ulp" %
      worst([mpf(c) for c in coeffs], mpf(-0.2929), mpf(0.5), mpf(2)**-53))

import numpy as np
def log1p_over_u(u):
    return mpf(1) if u == 0 else log1p(u) / u
poly, err = chebyfit(log1p_over_u, [0, 1], 11, error=True)
c32 = [np.float32(float(c)) for c in poly]               # highest degree first
print("float log1p on [0, 1]: degree-10 fit of log1p(u)/u, fit error %.3g" % err)
for k, c in enumerate(c32):
    print("  u^%d: %s" % (10 - k, float.hex(float(c))))
us = np.unique(np.concatenate([np.linspace(0, 1, 400001).astype(np.float32),
                               np.float32(2.0) ** -np.arange(1, 60, dtype=np.float32)]))
p = np.full(us.shape, c32[0], dtype=np.float32)
for c in c32[1:]:
    p = (p.astype(np.float64) * us + np.float64(c)).astype(np.float32)   # one rounding per FMA
y = (p.astype(np.float64) * us).astype(np.float32)
ref = np.log1p(us.astype(np.float64))
m = ref > 0
print("  float32 evaluation error: %.3f ulp" % (np.abs(y[m] - ref[m]) / ref[m] / 2.0**-24).max())
