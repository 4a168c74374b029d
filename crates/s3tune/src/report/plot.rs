//! `best_over_time.svg` and `.png`: every trial a dot at the time it finished, the best so
//! far as a line, boto3's defaults as a line. Seconds on a log axis, since a poor
//! configuration can be ten times slower than a good one and would flatten the rest.

use std::path::Path;
use std::sync::Once;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use s3tune_hpo::Status;

use super::Summary;

const SIZE: (u32, u32) = (1000, 600);

/// PNG text needs a font in the binary (no system fonts are assumed).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

pub fn draw(s: &Summary, dir: &Path) -> anyhow::Result<()> {
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

fn chart<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    // (minutes since the study began, mean seconds, ran all repeats)
    let mut dots: Vec<(f64, f64, bool)> = s
        .rows
        .iter()
        .filter_map(|r| {
            let at = r.record.finished?.duration_since(s.study.created).ok()?;
            Some((
                at.as_secs_f64() / 60.0,
                r.mean?,
                r.record.trial.status == Status::Completed,
            ))
        })
        .collect();
    dots.sort_by(|a, b| a.0.total_cmp(&b.0));
    let baseline = s.baseline.and_then(|b| s.rows[b].mean);
    let ys = dots.iter().map(|d| d.1).chain(baseline);
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.8, hi * 1.25)
    } else {
        (0.1, 10.0)
    };
    let x_max = dots.last().map_or(1.0, |d| d.0).max(0.1) * 1.05;
    let title = format!(
        "s3tune: download of {} ({}), study {}",
        s.settings.target,
        bytesize::ByteSize(s.settings.object_bytes).display().iec(),
        s.study.spec.name
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("minutes since the study began")
        .y_desc("seconds per download (mean of the trial's runs)")
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(e)?;
    let full = RGBColor(31, 119, 180);
    let partial = RGBColor(160, 160, 160);
    chart
        .draw_series(
            dots.iter()
                .filter(|d| d.2)
                .map(|d| Circle::new((d.0, d.1), 4, full.filled())),
        )
        .map_err(e)?
        .label("trial (all runs)")
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, full.filled()));
    chart
        .draw_series(
            dots.iter()
                .filter(|d| !d.2)
                .map(|d| Circle::new((d.0, d.1), 4, partial.filled())),
        )
        .map_err(e)?
        .label("trial stopped early (fewer runs)")
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, partial.filled()));
    let mut best = f64::INFINITY;
    let mut line: Vec<(f64, f64)> = Vec::new();
    for d in &dots {
        if d.1 < best {
            if best.is_finite() {
                line.push((d.0, best));
            }
            best = d.1;
            line.push((d.0, best));
        }
    }
    if let Some(&(_, y)) = line.last() {
        line.push((x_max, y));
    }
    let green = RGBColor(44, 160, 44);
    chart
        .draw_series(LineSeries::new(line, green.stroke_width(3)))
        .map_err(e)?
        .label("best so far")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(3)));
    if let Some(b) = baseline {
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, b), (x_max, b)],
                red.stroke_width(2),
            ))
            .map_err(e)?
            .label("boto3's defaults")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(e)?;
    Ok(())
}
