//! Grouped bars with whiskers (`compare.svg` and `.png`): a group per client, a bar per
//! series (its defaults, the best no-search rule, tuned), a whisker where several runs
//! measured a bar (their range).

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One bar: its height, and the range of its runs when there were several.
#[derive(Debug, Clone, Copy)]
pub struct Bar {
    /// The height.
    pub value: f64,
    /// The whisker, low to high.
    pub range: Option<(f64, f64)>,
}

/// One series: its legend label, its colour, and a bar per group (none: not measured).
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Fill colour.
    pub color: RGBColor,
    /// Per group.
    pub values: Vec<Option<Bar>>,
}

/// What a bar plot shows.
pub struct Bars {
    /// The caption.
    pub title: String,
    /// The y axis's label.
    pub y_desc: String,
    /// The groups, left to right.
    pub groups: Vec<String>,
    /// The series, in each group left to right.
    pub series: Vec<Series>,
    /// A line across the plot (a limit, such as the emulated link) and its label.
    pub line: Option<(f64, String)>,
}

const SIZE: (u32, u32) = (1000, 600);

/// Writes `stem.svg` and `stem.png` into `dir` (each to a temporary name, then renamed).
pub fn draw(b: &Bars, dir: &Path, stem: &str) -> anyhow::Result<()> {
    super::plot::register_font();
    for (ext, png) in [("svg", false), ("png", true)] {
        let name = format!("{stem}.{ext}");
        let tmp = dir.join(format!(".tmp-{name}"));
        let result = if png {
            let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
            chart(b, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        } else {
            let root = SVGBackend::new(&tmp, SIZE).into_drawing_area();
            chart(b, &root).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        };
        result.map_err(|e| anyhow!("drawing {name}: {e}"))?;
        std::fs::rename(&tmp, dir.join(&name))?;
    }
    Ok(())
}

fn chart<DB: DrawingBackend>(b: &Bars, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let top = b
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .map(|b| b.range.map_or(b.value, |w| w.1.max(b.value)))
        .chain(b.line.as_ref().map(|l| l.0))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.35;
    let groups = b.groups.len().max(1);
    let n = b.series.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(&b.title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..groups as f64, 0.0..top)
        .map_err(e)?;
    let names = b.groups.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(b.y_desc.as_str())
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    let width = 0.8 / n;
    for (k, s) in b.series.iter().enumerate() {
        let color = s.color;
        let left = |g: usize| g as f64 + 0.1 + k as f64 * width;
        chart
            .draw_series(s.values.iter().enumerate().filter_map(|(g, b)| {
                let v = (*b)?.value;
                Some(Rectangle::new(
                    [(left(g), 0.0), (left(g) + width * 0.9, v)],
                    color.filled(),
                ))
            }))
            .map_err(e)?
            .label(s.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
        chart
            .draw_series(s.values.iter().enumerate().filter_map(|(g, b)| {
                let (lo, hi) = (*b)?.range?;
                let x = left(g) + width * 0.45;
                Some(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    BLACK.stroke_width(2),
                ))
            }))
            .map_err(e)?;
    }
    if let Some((y, label)) = &b.line {
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, *y), (groups as f64, *y)],
                red.stroke_width(2),
            ))
            .map_err(e)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(e)?;
    Ok(())
}
