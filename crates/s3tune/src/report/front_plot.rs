//! `pareto.svg` and `.png`, for a study with several objectives: every trial a dot at its
//! seconds and its first other objective, the Pareto front joined as a staircase, the
//! best (the knee, or the point picked) ringed.

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// What the plot shows.
pub struct FrontPlot {
    /// The caption.
    pub title: String,
    /// The y axis's label.
    pub y_desc: String,
    /// Every trial: (seconds, the other objective, on the front).
    pub dots: Vec<(f64, f64, bool)>,
    /// The best point.
    pub best: Option<(f64, f64)>,
}

const SIZE: (u32, u32) = (1000, 600);

/// Writes `pareto.svg` and `pareto.png` into `dir` (each to a temporary name, then
/// renamed).
pub fn draw(p: &FrontPlot, dir: &Path) -> anyhow::Result<()> {
    super::plot::register_font();
    for (name, png) in [("pareto.svg", false), ("pareto.png", true)] {
        let tmp = dir.join(format!(".tmp-{name}"));
        let result = if png {
            let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
            chart(p, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        } else {
            let root = SVGBackend::new(&tmp, SIZE).into_drawing_area();
            chart(p, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        };
        result.map_err(|e| anyhow!("drawing {name}: {e}"))?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

fn chart<DB: DrawingBackend>(p: &FrontPlot, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let span = |f: fn(&(f64, f64, bool)) -> f64| {
        let lo = p.dots.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = p.dots.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(1e-9);
        (lo - pad)..(hi + pad)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(p.title.as_str(), ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(span(|d| d.0), span(|d| d.1))
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("seconds (mean of the runs)")
        .y_desc(p.y_desc.as_str())
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    let grey = RGBColor(160, 160, 160);
    let blue = RGBColor(31, 119, 180);
    let red = RGBColor(214, 39, 40);
    chart
        .draw_series(
            p.dots
                .iter()
                .filter(|d| !d.2)
                .map(|d| Circle::new((d.0, d.1), 4, grey.filled())),
        )
        .map_err(e)?
        .label("a trial")
        .legend(move |(x, y)| Circle::new((x, y), 4, grey.filled()));
    let mut front: Vec<(f64, f64)> = p.dots.iter().filter(|d| d.2).map(|d| (d.0, d.1)).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    let stairs: Vec<(f64, f64)> = front
        .windows(2)
        .flat_map(|w| [w[0], (w[1].0, w[0].1)])
        .chain(front.last().copied())
        .collect();
    chart
        .draw_series(LineSeries::new(stairs, blue.stroke_width(2)))
        .map_err(e)?
        .label("the Pareto front")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart
        .draw_series(front.iter().map(|d| Circle::new(*d, 5, blue.filled())))
        .map_err(e)?;
    if let Some(b) = p.best {
        chart
            .draw_series(std::iter::once(Circle::new(b, 10, red.stroke_width(3))))
            .map_err(e)?
            .label("best: the exports are for it")
            .legend(move |(x, y)| Circle::new((x, y), 6, red.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    Ok(())
}
