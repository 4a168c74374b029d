//! `best_over_time.svg` and `.png`: every trial a dot at the time it finished, the best so
//! far as a line, the baseline (boto3's defaults) as a line. Positive values go on a log
//! axis, since a poor configuration can be ten times slower than a good one and would
//! flatten the rest.

use std::path::Path;
use std::sync::Once;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// What a plot shows, from any kind of study.
pub struct Plot {
    /// The caption.
    pub title: String,
    /// The y axis's label.
    pub y_desc: String,
    /// (minutes since the study began, value, the trial ran to the end).
    pub dots: Vec<(f64, f64, bool)>,
    /// The baseline's value and its legend label.
    pub baseline: Option<(f64, String)>,
    /// Whether smaller is better (for the best-so-far line).
    pub minimize: bool,
}

const SIZE: (u32, u32) = (1000, 600);

/// PNG text needs a font in the binary (no system fonts are assumed).
pub(super) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

pub fn draw(s: &Plot, dir: &Path) -> anyhow::Result<()> {
    register_font();
    for (name, png) in [("best_over_time.svg", false), ("best_over_time.png", true)] {
        let tmp = dir.join(format!(".tmp-{name}"));
        let result = if png {
            let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
            chart(s, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        } else {
            let root = SVGBackend::new(&tmp, SIZE).into_drawing_area();
            chart(s, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        };
        result.map_err(|e| anyhow!("drawing {name}: {e}"))?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

/// The same drawing on a log or a linear axis (two coordinate types): `$chart` is the
/// built chart; the dots, the best-so-far line, the x extent and the error mapping are
/// the caller's.
macro_rules! finish {
    ($chart:expr, $s:expr, $dots:expr, $line:expr, $x_max:expr, $e:expr) => {{
        let (s, dots, line, x_max, e) = ($s, $dots, $line, $x_max, $e);
        let full = RGBColor(31, 119, 180);
        let partial = RGBColor(160, 160, 160);
        let green = RGBColor(44, 160, 44);
        let red = RGBColor(214, 39, 40);
        {
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc("minutes since the study began")
                .y_desc(s.y_desc.as_str())
                .axis_desc_style(("sans-serif", 16))
                .label_style(("sans-serif", 14))
                .y_label_formatter(&|v| format!("{v:.3}"))
                .draw()
                .map_err(e)?;
            chart
                .draw_series(
                    dots.iter()
                        .filter(|d| d.2)
                        .map(|d| Circle::new((d.0, d.1), 4, full.filled())),
                )
                .map_err(e)?
                .label("trial (ran to the end)")
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, full.filled()));
            chart
                .draw_series(
                    dots.iter()
                        .filter(|d| !d.2)
                        .map(|d| Circle::new((d.0, d.1), 4, partial.filled())),
                )
                .map_err(e)?
                .label("trial stopped early")
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, partial.filled()));
            chart
                .draw_series(LineSeries::new(line, green.stroke_width(3)))
                .map_err(e)?
                .label("best so far")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(3))
                });
            if let Some((b, label)) = &s.baseline {
                chart
                    .draw_series(LineSeries::new(
                        vec![(0.0, *b), (x_max, *b)],
                        red.stroke_width(2),
                    ))
                    .map_err(e)?
                    .label(label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(e)?;
        }
    }};
}

/// The best-so-far step line through `dots` (sorted by time), out to `x_max`.
fn best_line(dots: &[(f64, f64, bool)], minimize: bool, x_max: f64) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = Vec::new();
    let better = |a: f64, b: f64| if minimize { a < b } else { a > b };
    for d in dots {
        match line.last().map(|l| l.1) {
            Some(best) if !better(d.1, best) => {}
            Some(best) => {
                line.push((d.0, best));
                line.push((d.0, d.1));
            }
            None => line.push((d.0, d.1)),
        }
    }
    if let Some(&(_, y)) = line.last() {
        line.push((x_max, y));
    }
    line
}

fn chart<DB: DrawingBackend>(s: &Plot, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let mut dots = s.dots.clone();
    dots.sort_by(|a, b| a.0.total_cmp(&b.0));
    let baseline = s.baseline.as_ref().map(|b| b.0);
    let ys: Vec<f64> = dots.iter().map(|d| d.1).chain(baseline).collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let x_max = dots.last().map_or(1.0, |d| d.0).max(0.1) * 1.05;
    let line = best_line(&dots, s.minimize, x_max);
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&s.title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70);
    if !lo.is_finite() {
        finish!(
            builder
                .build_cartesian_2d(0.0..x_max, 0.0..1.0)
                .map_err(e)?,
            s,
            &dots,
            line,
            x_max,
            e
        );
    } else if lo > 0.0 {
        finish!(
            builder
                .build_cartesian_2d(0.0..x_max, (lo * 0.8..hi * 1.25).log_scale())
                .map_err(e)?,
            s,
            &dots,
            line,
            x_max,
            e
        );
    } else {
        let pad = ((hi - lo) * 0.1).max(1e-9);
        finish!(
            builder
                .build_cartesian_2d(0.0..x_max, lo - pad..hi + pad)
                .map_err(e)?,
            s,
            &dots,
            line,
            x_max,
            e
        );
    }
    Ok(())
}
