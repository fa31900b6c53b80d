//! The inner loops: dot products of a coefficient row with a channel's
//! contiguous history, and the interpolation of a row between two rows of the
//! oversampled table.
//!
//! Everything works on whole chunks of [`LANES`] floats (every table row is a
//! multiple of it long), converted to fixed-size arrays so that the compiler
//! knows every index is in bounds and turns each chunk into a few SIMD
//! instructions: no bounds checks and no scalar tail in the loop. Several
//! independent accumulator lanes also keep the adds from waiting on each
//! other.

/// Floats per chunk: the number of independent accumulators.
pub(crate) const LANES: usize = 16;

type Chunk = [f32; LANES];

/// Splits a slice whose length is a multiple of [`LANES`] into chunks.
#[inline(always)]
fn chunks(s: &[f32]) -> impl Iterator<Item = &Chunk> {
    s.chunks_exact(LANES).map(|c| -> &Chunk { c.try_into().unwrap_or(&[0.0; LANES]) })
}

/// Sums the lanes pairwise (a fixed order, so results never depend on the
/// caller).
#[inline(always)]
fn reduce(mut acc: Chunk) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for k in 0..width {
            acc[k] += acc[k + width];
        }
        width /= 2;
    }
    acc[0]
}

/// `Σ coefs[j] · x[j]` over `coefs.len()` (a multiple of [`LANES`]) terms.
/// `x` must be at least as long as `coefs`.
#[inline(always)]
pub(crate) fn dot(coefs: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (c, x) in chunks(coefs).zip(chunks(x)) {
        for ((a, &c), &x) in acc.iter_mut().zip(c).zip(x) {
            *a += c * x;
        }
    }
    reduce(acc)
}

/// Two channels at once: the coefficients are loaded once for both.
#[inline(always)]
pub(crate) fn dot2(coefs: &[f32], x0: &[f32], x1: &[f32]) -> (f32, f32) {
    let mut acc0 = [0.0f32; LANES];
    let mut acc1 = [0.0f32; LANES];
    for ((c, x0), x1) in chunks(coefs).zip(chunks(x0)).zip(chunks(x1)) {
        for k in 0..LANES {
            acc0[k] += c[k] * x0[k];
            acc1[k] += c[k] * x1[k];
        }
    }
    (reduce(acc0), reduce(acc1))
}

/// `out[j] = a[j] + t · (b[j] − a[j])`: the row for a position a fraction `t`
/// of the way from row `a` to row `b`. All three have the same length.
#[inline(always)]
pub(crate) fn lerp_row(a: &[f32], b: &[f32], t: f32, out: &mut [f32]) {
    for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
        *o = a + t * (b - a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_products_match_a_plain_sum() {
        let c: Vec<f32> = (0..LANES * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..LANES * 3 + 5).map(|i| (i as f32 * 0.11).cos()).collect();
        let y: Vec<f32> = x.iter().map(|v| v * 0.5 - 0.25).collect();
        let plain = |x: &[f32]| c.iter().zip(x).map(|(a, b)| f64::from(a * b)).sum::<f64>();
        assert!((f64::from(dot(&c, &x)) - plain(&x)).abs() < 1e-5);
        let (d0, d1) = dot2(&c, &x, &y);
        assert_eq!(d0, dot(&c, &x));
        assert_eq!(d1, dot(&c, &y));
        let mut out = vec![0.0; c.len()];
        lerp_row(&c, &x[..c.len()], 0.25, &mut out);
        assert!((out[7] - (c[7] + 0.25 * (x[7] - c[7]))).abs() < 1e-7);
    }
}
