//! The HTML report: every figure (with its limit's verdict) and the plots
//! as SVG files beside the page (plotters' SVG backend, text laid out by
//! its built-in metrics: no font files, no C libraries).

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use plotters::prelude::*;

use crate::limits::Verdict;
use crate::run::Report;

const W: u32 = 900;
const H: u32 = 420;
const COLOURS: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xd6, 0x27, 0x28), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0x94, 0x67, 0xbd)];

fn plot_error<E: std::fmt::Debug>(e: E) -> io::Error {
    io::Error::other(format!("drawing a plot: {e:?}"))
}

fn range(values: impl Iterator<Item = f64>, pad: f64, least: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let mid = (lo + hi) / 2.0;
    let half = ((hi - lo) / 2.0 + pad).max(least / 2.0);
    (mid - half, mid + half)
}

/// One XY chart of several series.
fn chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    series: &[(String, Vec<(f64, f64)>)],
    y_least: f64,
) -> io::Result<()> {
    let root = SVGBackend::new(path, (W, H)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (x0, x1) = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)), 0.0, 1e-9);
    let (y0, y1) = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)), 1.0, y_least);
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 20)).margin(12).x_label_area_size(40).y_label_area_size(60);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut c = $chart;
            c.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(plot_error)?;
            for (i, (name, points)) in series.iter().enumerate() {
                let colour = COLOURS[i % COLOURS.len()];
                c.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                    .map_err(plot_error)?
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(plot_error)?;
        }};
    }
    if log_x {
        draw!(builder.build_cartesian_2d((x0.max(1.0)..x1).log_scale(), y0..y1).map_err(plot_error)?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(plot_error)?);
    }
    root.present().map_err(plot_error)
}

/// A spectrum thinned for a plot: the highest bin in each of `buckets`
/// equal steps of log frequency from 10 Hz (a tone's peak and the floor
/// both stay).
fn peaks(spec: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let top = spec.last().map_or(1.0, |p| p.0).max(11.0);
    let span = (top / 10.0).ln();
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut bucket = usize::MAX;
    for &(f, db) in spec.iter().filter(|p| p.0 >= 10.0) {
        let b = (((f / 10.0).ln() / span) * buckets as f64) as usize;
        match out.last_mut() {
            Some(last) if b == bucket => {
                if db > last.1 {
                    *last = (f, db);
                }
            }
            _ => {
                out.push((f, db));
                bucket = b;
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Write `DIR/index.html` and its plots.
pub fn write(dir: &Path, title: &str, report: &Report, verdicts: &[Verdict]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut plots = Vec::new();
    if let Some(curves) = &report.response {
        let mag: Vec<_> = curves
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("input {i}"), r.freqs.iter().copied().zip(r.magnitude_db.iter().copied()).collect()))
            .collect();
        chart(&dir.join("response.svg"), "Frequency response", "Hz", "dB", true, &mag, 2.0)?;
        plots.push(("response.svg", "Frequency response (magnitude), by exponential sine sweep"));
        let phase: Vec<_> = curves
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("input {i}"), r.freqs.iter().copied().zip(r.phase_deg.iter().copied()).collect()))
            .collect();
        chart(&dir.join("phase.svg"), "Phase (delay removed)", "Hz", "degrees", true, &phase, 10.0)?;
        plots.push(("phase.svg", "Phase, with the round trip's delay taken out"));
    }
    if let Some(levels) = &report.thd_vs_level {
        let s: Vec<_> = levels
            .iter()
            .enumerate()
            .map(|(i, pts)| (format!("input {i}"), pts.iter().map(|p| (p.level_dbfs, p.thd_n_db)).collect()))
            .collect();
        chart(
            &dir.join("thd-level.svg"),
            "THD+N at 1 kHz against level",
            "level (dBFS)",
            "THD+N (dB)",
            false,
            &s,
            10.0,
        )?;
        plots.push(("thd-level.svg", "THD+N at 1 kHz against the level played"));
    }
    if let Some(spec) = &report.spectrum {
        let s = vec![("input 0".to_string(), peaks(spec, 800))];
        chart(&dir.join("spectrum.svg"), "Spectrum of the 1 kHz tone", "Hz", "dBFS", true, &s, 20.0)?;
        plots.push(("spectrum.svg", "Spectrum of the 1 kHz tone (Hann window)"));
    }
    if let (Some(glitches), Some(seconds)) = (&report.glitches, report.glitch_seconds) {
        let file = dir.join("glitches.svg");
        let root = SVGBackend::new(&file, (W, 200)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let inputs = glitches.len().max(1) as f64;
        let mut c = ChartBuilder::on(&root)
            .caption("Glitches over the run", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..seconds + 0.5, -0.5..inputs - 0.5)
            .map_err(plot_error)?;
        c.configure_mesh()
            .x_desc("seconds")
            .y_desc("input")
            .y_labels(glitches.len().max(1))
            .draw()
            .map_err(plot_error)?;
        for (i, list) in glitches.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            c.draw_series(list.iter().map(|g| Cross::new((g.seconds, i as f64), 8, colour.stroke_width(3))))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
        plots.push(("glitches.svg", "Glitches found (each cross one dropout, repeat or click)"));
    }

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:960px}}h1{{overflow-wrap:anywhere}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.pass{{color:#080}}.fail{{color:#c00;font-weight:bold}}\
         </style></head><body>\n<h1>{t}</h1>\n<p>{r} Hz, {o} outputs, {i} inputs.</p>\n",
        t = escape(title),
        r = report.rate,
        o = report.outputs,
        i = report.inputs
    );
    if !verdicts.is_empty() {
        let failed = verdicts.iter().filter(|v| !v.pass).count();
        let _ = writeln!(
            html,
            "<p class=\"{}\">Limits: {} of {} hold.</p>",
            if failed == 0 { "pass" } else { "fail" },
            verdicts.len() - failed,
            verdicts.len()
        );
    }
    html.push_str("<table><tr><th>figure</th><th>value</th><th>unit</th><th>limit</th><th>meaning</th></tr>\n");
    for f in report.figures() {
        let limit = match verdicts.iter().find(|v| v.name == f.name) {
            Some(v) => {
                let bounds = match (v.limit.min, v.limit.max) {
                    (Some(a), Some(b)) => format!("{a} to {b}"),
                    (Some(a), None) => format!("&ge; {a}"),
                    (None, Some(b)) => format!("&le; {b}"),
                    (None, None) => String::new(),
                };
                format!(
                    "<span class=\"{}\">{} ({bounds})</span>",
                    if v.pass { "pass" } else { "fail" },
                    if v.pass { "pass" } else { "FAIL" }
                )
            }
            None => String::new(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{limit}</td><td>{}</td></tr>",
            f.name,
            f.value,
            escape(f.unit),
            escape(f.what)
        );
    }
    html.push_str("</table>\n");
    for (file, caption) in &plots {
        let _ = writeln!(
            html,
            "<h2>{}</h2>\n<img src=\"{file}\" alt=\"{}\" width=\"{W}\">",
            escape(caption),
            escape(caption)
        );
    }
    if let Some(g) = &report.glitches {
        html.push_str("<h2>Glitch list</h2>\n<table><tr><th>input</th><th>seconds</th><th>frame</th><th>kind</th><th>frames</th></tr>\n");
        for (i, list) in g.iter().enumerate() {
            for e in list {
                let _ = writeln!(
                    html,
                    "<tr><td>{i}</td><td>{:.4}</td><td>{}</td><td>{:?}</td><td>{}</td></tr>",
                    e.seconds, e.frame, e.kind, e.frames
                );
            }
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body></html>\n");
    std::fs::write(dir.join("index.html"), html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limit;
    use crate::run::Latency;

    #[test]
    fn the_report_has_its_figures_verdicts_and_plots() {
        let dir = std::env::temp_dir().join(format!("outboard-report-test-{}", std::process::id()));
        let report = Report {
            rate: 48_000,
            outputs: 2,
            inputs: 2,
            latency: Some(Latency { runs: vec![123], frames: 123, ms: 2.56, spread_frames: 0, input: 0 }),
            spectrum: Some((1..20_000).map(|k| (k as f64, if k == 1000 { -3.0 } else { -120.0 })).collect()),
            ..Report::default()
        };
        let verdicts = vec![crate::limits::Verdict {
            name: "latency.frames".into(),
            value: Some(123.0),
            limit: Limit { min: None, max: Some(100.0) },
            pass: false,
        }];
        write(&dir, "a <test> card", &report, &verdicts).unwrap();
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("a &lt;test&gt; card"), "the title is escaped");
        assert!(html.contains("<td>latency.frames</td><td>123.00</td>"));
        assert!(html.contains("FAIL (&le; 100)") && html.contains("Limits: 0 of 1 hold."));
        assert!(html.contains("<img src=\"spectrum.svg\""));
        let svg = std::fs::read_to_string(dir.join("spectrum.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("polyline"), "a drawn line");
        // The spectrum is thinned, and its peak kept.
        let kept = peaks(report.spectrum.as_ref().unwrap(), 800);
        assert!(kept.len() <= 801 && kept.iter().any(|p| p.1 == -3.0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
