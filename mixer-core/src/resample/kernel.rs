//! The inner loops: dot products of a coefficient row with a channel's
//! contiguous history, and the interpolation of a row between two rows of the
//! oversampled table.
//!
//! Everything works on whole chunks of [`LANES`] floats (every table row is a
//! multiple of it long), converted to fixed-size arrays so that the compiler
//! knows every index is in bounds and turns each chunk into a few SIMD
//! instructions: no bounds checks and no scalar tail in the loop. Four
//! independent four-lane accumulators also keep the adds from waiting on
//! each other. (Plain `[f32; 4]` arithmetic: the SSE2 every x86-64 has, no
//! `unsafe`, no intrinsics; other targets get their own vectors or scalars.)

/// Floats per chunk: four accumulators of four lanes (an SSE register each).
pub(crate) const LANES: usize = 16;

type Chunk = [f32; LANES];

/// Four f32 lanes. Written lane by lane, which the compiler turns into one
/// SSE instruction per operation.
#[derive(Clone, Copy, Default)]
struct F4([f32; 4]);

impl F4 {
    #[inline(always)]
    fn load(chunk: &Chunk, q: usize) -> F4 {
        let mut v = [0.0; 4];
        v.copy_from_slice(&chunk[q * 4..q * 4 + 4]);
        F4(v)
    }

    /// `self + a · b`, lane by lane.
    #[inline(always)]
    fn mul_add(self, a: F4, b: F4) -> F4 {
        let (s, a, b) = (self.0, a.0, b.0);
        F4([s[0] + a[0] * b[0], s[1] + a[1] * b[1], s[2] + a[2] * b[2], s[3] + a[3] * b[3]])
    }

    #[inline(always)]
    fn add(self, a: F4) -> F4 {
        let (s, a) = (self.0, a.0);
        F4([s[0] + a[0], s[1] + a[1], s[2] + a[2], s[3] + a[3]])
    }
}

type Acc = [F4; LANES / 4];

/// Splits a slice whose length is a multiple of [`LANES`] into chunks.
#[inline(always)]
fn chunks(s: &[f32]) -> impl Iterator<Item = &Chunk> {
    s.chunks_exact(LANES).map(|c| -> &Chunk { c.try_into().unwrap_or(&[0.0; LANES]) })
}

/// Sums the lanes of the accumulators in a fixed order.
///
/// Not inlined on purpose: when the compiler sees this horizontal sum next to
/// the loop, its vectorizer pairs the lanes the sum pairs and splits every
/// accumulator into two-lane halves, which halves the loop's speed. Behind a
/// call the loop keeps whole four-lane registers; the call costs a few cycles
/// per output sample.
#[inline(never)]
fn reduce(acc: Acc) -> f32 {
    let v = acc[0].add(acc[2]).add(acc[1].add(acc[3])).0;
    (v[0] + v[2]) + (v[1] + v[3])
}

/// `Σ coefs[j] · x[j]` over `coefs.len()` (a multiple of [`LANES`]) terms.
/// `x` must be at least as long as `coefs`.
#[inline(always)]
pub(crate) fn dot(coefs: &[f32], x: &[f32]) -> f32 {
    let mut acc = Acc::default();
    for (c, x) in chunks(coefs).zip(chunks(x)) {
        for (q, a) in acc.iter_mut().enumerate() {
            *a = a.mul_add(F4::load(c, q), F4::load(x, q));
        }
    }
    reduce(acc)
}

/// Two channels at once: the coefficients are loaded once for both.
#[inline(always)]
pub(crate) fn dot2(coefs: &[f32], x0: &[f32], x1: &[f32]) -> (f32, f32) {
    let (mut acc0, mut acc1) = (Acc::default(), Acc::default());
    for ((c, x0), x1) in chunks(coefs).zip(chunks(x0)).zip(chunks(x1)) {
        for (q, (a0, a1)) in acc0.iter_mut().zip(&mut acc1).enumerate() {
            let cq = F4::load(c, q);
            *a0 = a0.mul_add(cq, F4::load(x0, q));
            *a1 = a1.mul_add(cq, F4::load(x1, q));
        }
    }
    (reduce(acc0), reduce(acc1))
}

/// Four lanes of the row a fraction `t` of the way from row `a` to row `b`.
#[inline(always)]
fn lerp(a: &Chunk, b: &Chunk, q: usize, t: F4) -> F4 {
    let a = F4::load(a, q);
    let (av, bv) = (a.0, F4::load(b, q).0);
    a.mul_add(t, F4([bv[0] - av[0], bv[1] - av[1], bv[2] - av[2], bv[3] - av[3]]))
}

/// [`dot`] with the row `a + t · (b − a)`, computed on the fly.
#[inline(always)]
pub(crate) fn dot_lerp(a: &[f32], b: &[f32], t: f32, x: &[f32]) -> f32 {
    let (mut acc, t) = (Acc::default(), F4([t; 4]));
    for ((a, b), x) in chunks(a).zip(chunks(b)).zip(chunks(x)) {
        for (q, acc) in acc.iter_mut().enumerate() {
            *acc = acc.mul_add(lerp(a, b, q, t), F4::load(x, q));
        }
    }
    reduce(acc)
}

/// [`dot2`] with the row `a + t · (b − a)`, computed once for both channels.
#[inline(always)]
pub(crate) fn dot2_lerp(a: &[f32], b: &[f32], t: f32, x0: &[f32], x1: &[f32]) -> (f32, f32) {
    let (mut acc0, mut acc1, t) = (Acc::default(), Acc::default(), F4([t; 4]));
    for (((a, b), x0), x1) in chunks(a).zip(chunks(b)).zip(chunks(x0)).zip(chunks(x1)) {
        for (q, (a0, a1)) in acc0.iter_mut().zip(&mut acc1).enumerate() {
            let c = lerp(a, b, q, t);
            *a0 = a0.mul_add(c, F4::load(x0, q));
            *a1 = a1.mul_add(c, F4::load(x1, q));
        }
    }
    (reduce(acc0), reduce(acc1))
}

/// `out = a + t · (b − a)`, for rows shared by more than two channels.
#[inline(always)]
pub(crate) fn lerp_row(a: &[f32], b: &[f32], t: f32, out: &mut [f32]) {
    let t = F4([t; 4]);
    for ((a, b), out) in chunks(a).zip(chunks(b)).zip(out.chunks_exact_mut(LANES)) {
        for (q, o) in out.chunks_exact_mut(4).enumerate() {
            o.copy_from_slice(&lerp(a, b, q, t).0);
        }
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
        let mut row = vec![0.0; c.len()];
        lerp_row(&c, &x[..c.len()], 0.25, &mut row);
        assert!((row[7] - (c[7] + 0.25 * (x[7] - c[7]))).abs() < 1e-7);
        assert_eq!(dot_lerp(&c, &x[..c.len()], 0.25, &y), dot(&row, &y));
        assert_eq!(dot2_lerp(&c, &x[..c.len()], 0.25, &x, &y), dot2(&row, &x, &y));
    }
}
