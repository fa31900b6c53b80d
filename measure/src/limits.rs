//! The figures a run produces, by name, and a limits file that holds them
//! to a production line's spec.
//!
//! A limits file is TOML: one table per figure, with `min`, `max` or both:
//!
//! ```toml
//! ["thd.thd_n_db"]
//! max = -80.0
//!
//! ["latency.frames"]
//! min = 100
//! max = 200
//! ```
//!
//! Every limit must name a figure `outboard measure` knows; a limit on a
//! figure the run did not measure fails (a test missing from `--tests` is
//! not a pass).

use std::collections::BTreeMap;

use crate::response::Response;
use crate::run::{Figure, Report};

/// Every figure's name, unit and meaning.
pub const FIGURES: &[(&str, &str, &str)] = &[
    ("latency.frames", "frames", "round-trip latency (median of the runs)"),
    ("latency.ms", "ms", "round-trip latency"),
    ("latency.spread_frames", "frames", "largest minus smallest latency over the runs"),
    ("channels.crosstalk_db", "dB", "worst crosstalk from an output to an input it is not mapped to"),
    ("channels.miswired", "", "outputs that do not reach their own input, or reach it inverted"),
    ("response.gain_1k_db", "dB", "lowest gain at 1 kHz"),
    ("response.deviation_db", "dB", "largest departure from the 1 kHz gain, 20 Hz-20 kHz"),
    ("response.low_3db_hz", "Hz", "highest frequency below 1 kHz where the response is 3 dB down (20 if none)"),
    (
        "response.high_3db_hz",
        "Hz",
        "lowest frequency above 1 kHz where the response is 3 dB down (the top of the band if none)",
    ),
    ("thd.thd_db", "dB", "highest THD at 1 kHz"),
    ("thd.thd_n_db", "dB", "highest THD+N at 1 kHz, 20 Hz-20 kHz"),
    ("thd.thd_n_a_db", "dB", "highest THD+N at 1 kHz, A-weighted"),
    ("noise.unweighted_dbfs", "dBFS", "highest noise, 20 Hz-20 kHz"),
    ("noise.a_weighted_dbfs", "dBFS", "highest noise, A-weighted"),
    ("dynamic_range.db", "dB", "lowest dynamic range (AES17)"),
    ("dynamic_range.a_db", "dB", "lowest dynamic range, A-weighted"),
    ("glitch.count", "", "glitches found on all inputs"),
    ("drift.ppm", "ppm", "how much faster the input's clock runs than the output's"),
];

fn figure(name: &'static str, value: f64) -> Figure {
    let (_, unit, what) = FIGURES.iter().find(|f| f.0 == name).copied().unwrap_or((name, "", ""));
    Figure { name, value, unit, what }
}

fn max(v: impl Iterator<Item = f64>) -> Option<f64> {
    v.reduce(f64::max)
}

fn min(v: impl Iterator<Item = f64>) -> Option<f64> {
    v.reduce(f64::min)
}

/// Where a response is 3 dB below its 1 kHz gain, searching down (or up)
/// from 1 kHz; the band's end if it never is.
fn corner(r: &Response, up: bool) -> Option<f64> {
    let reference = r.gain_at(1000.0)?;
    let pairs: Vec<(f64, f64)> = r.freqs.iter().copied().zip(r.magnitude_db.iter().copied()).collect();
    let side: Vec<&(f64, f64)> = if up {
        pairs.iter().filter(|p| p.0 >= 1000.0).collect()
    } else {
        pairs.iter().rev().filter(|p| p.0 <= 1000.0).collect()
    };
    let mut last = side.first().map(|p| p.0)?;
    for (f, m) in side {
        if *m < reference - 3.0 {
            return Some(last);
        }
        last = *f;
    }
    Some(last)
}

impl Report {
    /// The run's figures, worst over the channels.
    pub fn figures(&self) -> Vec<Figure> {
        let mut out = Vec::new();
        if let Some(l) = &self.latency {
            out.push(figure("latency.frames", l.frames as f64));
            out.push(figure("latency.ms", l.ms));
            out.push(figure("latency.spread_frames", l.spread_frames as f64));
        }
        if let Some(paths) = &self.channels {
            let worst = paths
                .iter()
                .filter_map(|p| p.input.map(|i| (i, p)))
                .flat_map(|(i, p)| p.crosstalk_db.iter().enumerate().filter(move |(m, _)| *m != i).map(|(_, v)| *v));
            if let Some(w) = max(worst) {
                out.push(figure("channels.crosstalk_db", w));
            }
            let miswired = paths.iter().filter(|p| p.input != Some(p.output) || p.inverted).count();
            out.push(figure("channels.miswired", miswired as f64));
        }
        if let Some(curves) = &self.response {
            let top = crate::distortion::band_top(self.rate);
            if let Some(v) = min(curves.iter().filter_map(|r| r.gain_at(1000.0))) {
                out.push(figure("response.gain_1k_db", v));
            }
            if let Some(v) = max(curves.iter().filter_map(|r| r.deviation(1000.0, 20.0, top))) {
                out.push(figure("response.deviation_db", v));
            }
            if let Some(v) = max(curves.iter().filter_map(|r| corner(r, false))) {
                out.push(figure("response.low_3db_hz", v));
            }
            if let Some(v) = min(curves.iter().filter_map(|r| corner(r, true))) {
                out.push(figure("response.high_3db_hz", v));
            }
        }
        if let Some(t) = &self.thd {
            for (name, v) in [
                ("thd.thd_db", max(t.iter().map(|t| t.thd_db))),
                ("thd.thd_n_db", max(t.iter().map(|t| t.thd_n_db))),
                ("thd.thd_n_a_db", max(t.iter().map(|t| t.thd_n_a_db))),
            ] {
                if let Some(v) = v {
                    out.push(figure(name, v));
                }
            }
        }
        if let Some(n) = &self.noise {
            if let Some(v) = max(n.iter().map(|n| n.unweighted_dbfs)) {
                out.push(figure("noise.unweighted_dbfs", v));
            }
            if let Some(v) = max(n.iter().map(|n| n.a_weighted_dbfs)) {
                out.push(figure("noise.a_weighted_dbfs", v));
            }
        }
        if let Some(d) = &self.dynamic_range {
            if let Some(v) = min(d.iter().map(|d| d.db)) {
                out.push(figure("dynamic_range.db", v));
            }
            if let Some(v) = min(d.iter().map(|d| d.a_weighted_db)) {
                out.push(figure("dynamic_range.a_db", v));
            }
        }
        if let Some(g) = &self.glitches {
            out.push(figure("glitch.count", g.iter().map(Vec::len).sum::<usize>() as f64));
        }
        if let Some(d) = &self.drift {
            out.push(figure("drift.ppm", d.ppm));
        }
        out
    }
}

/// One figure's limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A limits file: figure name to limit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits(pub BTreeMap<String, Limit>);

impl Limits {
    /// Parse a limits file's text.
    pub fn parse(text: &str) -> Result<Limits, String> {
        let map: BTreeMap<String, Limit> = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, limit) in &map {
            if !FIGURES.iter().any(|f| f.0 == name) {
                let names: Vec<&str> = FIGURES.iter().map(|f| f.0).collect();
                return Err(format!(
                    "`{name}` is not a figure outboard measure makes (it makes: {})",
                    names.join(", ")
                ));
            }
            match (limit.min, limit.max) {
                (None, None) => return Err(format!("`{name}`: give min, max or both")),
                (Some(lo), Some(hi)) if lo > hi => return Err(format!("`{name}`: min {lo} is above max {hi}")),
                _ => {}
            }
        }
        Ok(Limits(map))
    }

    /// Check the figures: one verdict a limit.
    pub fn check(&self, figures: &[Figure]) -> Vec<Verdict> {
        self.0
            .iter()
            .map(|(name, limit)| {
                let value = figures.iter().find(|f| f.name == name).map(|f| f.value);
                let pass = value.is_some_and(|v| {
                    !v.is_nan() && limit.min.is_none_or(|lo| v >= lo) && limit.max.is_none_or(|hi| v <= hi)
                });
                Verdict { name: name.clone(), value, limit: *limit, pass }
            })
            .collect()
    }
}

/// A limit's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub name: String,
    /// `None`: the run did not measure it (a failure).
    pub value: Option<f64>,
    pub limit: Limit,
    pub pass: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figs() -> Vec<Figure> {
        vec![figure("thd.thd_n_db", -85.0), figure("latency.frames", 150.0)]
    }

    #[test]
    fn limits_pass_and_fail_as_they_should() {
        let ok =
            Limits::parse("[\"thd.thd_n_db\"]\nmax = -80.0\n[\"latency.frames\"]\nmin = 100\nmax = 200\n").unwrap();
        assert!(ok.check(&figs()).iter().all(|v| v.pass));
        let tight = Limits::parse("[\"thd.thd_n_db\"]\nmax = -90.0\n").unwrap();
        let v = tight.check(&figs());
        assert!(!v[0].pass && v[0].value == Some(-85.0));
        let missing = Limits::parse("[\"noise.a_weighted_dbfs\"]\nmax = -90\n").unwrap();
        let v = missing.check(&figs());
        assert!(!v[0].pass && v[0].value.is_none(), "a figure not measured fails");
    }

    #[test]
    fn bad_limits_files_say_what_is_wrong() {
        for (text, says) in [
            ("[\"thd.nope\"]\nmax = 1\n", "not a figure"),
            ("[\"thd.thd_db\"]\n", "give min, max"),
            ("[\"thd.thd_db\"]\nmin = 5\nmax = 1\n", "above max"),
            ("[\"thd.thd_db\"]\nmaximum = 1\n", "unknown field"),
            ("not toml", "expected"),
        ] {
            let e = Limits::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
