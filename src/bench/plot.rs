//! The bench's figures as one SVG of panels (plotters' SVG backend): each panel a few labelled
//! series of points, on linear or logarithmic axes.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// A labelled line through its points, broken where a point is not finite (a gap in the data:
/// no line is drawn across it).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A point that marks a break in a [`Series`].
pub const BREAK: (f64, f64) = (f64::NAN, f64::NAN);

#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
}

const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// Writes `panels` to `path` as an SVG, two panels a row, each `panel_size` pixels.
pub fn write_svg(path: &Path, panels: &[Panel], panel_size: (u32, u32)) -> Result<(), String> {
    let columns = panels.len().clamp(1, 2);
    let rows = panels.len().div_ceil(2).max(1);
    let size = (panel_size.0 * columns as u32, panel_size.1 * rows as u32);
    let root = SVGBackend::new(path, size).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(area, panel).map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))
}

/// The runs of points a scale can show, split at breaks: a log axis has no place for zero or
/// below either, and such points are left out (without a break).
fn shown(points: &[(f64, f64)], x: Scale, y: Scale) -> Vec<Vec<(f64, f64)>> {
    let fits = |v: f64, s: Scale| s == Scale::Linear || v > 0.0;
    points
        .split(|&(a, b)| !a.is_finite() || !b.is_finite())
        .map(|run| {
            run.iter()
                .copied()
                .filter(|&(a, b)| fits(a, x) && fits(b, y))
                .collect::<Vec<_>>()
        })
        .filter(|run| !run.is_empty())
        .collect()
}

/// An axis range around `values`: from zero on a linear axis, with room above; a log axis
/// spans whole powers around them.
fn range(values: impl Iterator<Item = f64>, scale: Scale, from_zero: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return match scale {
            Scale::Linear => (0.0, 1.0),
            Scale::Log => (1.0, 10.0),
        };
    }
    match scale {
        Scale::Log => (
            10f64.powf(lo.log10().floor()),
            10f64.powf((hi.log10() + 1e-9).ceil()).max(lo * 10.0),
        ),
        Scale::Linear => {
            let lo = if from_zero { lo.min(0.0) } else { lo };
            let hi = if hi > lo {
                hi + (hi - lo) * 0.08
            } else {
                lo + 1.0
            };
            (lo, hi)
        }
    }
}

/// A series' label and the runs of its points that a panel shows.
type Shown = (String, Vec<Vec<(f64, f64)>>);
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw_panel(area: &Area, panel: &Panel) -> DrawResult {
    let series: Vec<Shown> = panel
        .series
        .iter()
        .map(|s| {
            (
                s.label.clone(),
                shown(&s.points, panel.x_scale, panel.y_scale),
            )
        })
        .collect();
    let all = || {
        series
            .iter()
            .flat_map(|(_, runs)| runs.iter().flatten().copied())
    };
    let (x0, x1) = range(all().map(|p| p.0), panel.x_scale, false);
    let (y0, y1) = range(all().map(|p| p.1), panel.y_scale, true);
    match (panel.x_scale, panel.y_scale) {
        (Scale::Linear, Scale::Linear) => draw(area, panel, &series, x0..x1, y0..y1),
        (Scale::Linear, Scale::Log) => draw(area, panel, &series, x0..x1, (y0..y1).log_scale()),
        (Scale::Log, Scale::Linear) => draw(area, panel, &series, (x0..x1).log_scale(), y0..y1),
        (Scale::Log, Scale::Log) => draw(
            area,
            panel,
            &series,
            (x0..x1).log_scale(),
            (y0..y1).log_scale(),
        ),
    }
}

fn draw<X, Y>(area: &Area, panel: &Panel, series: &[Shown], x: X, y: Y) -> DrawResult
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(62)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style(("sans-serif", 12))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, (label, runs)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = colour.stroke_width(2);
        for (r, run) in runs.iter().enumerate() {
            let line = chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
            // One legend entry per series, on its first run.
            if r == 0 {
                line.label(label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            // Marks, so that a run of one point shows too.
            chart.draw_series(run.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_fit_their_values() {
        assert_eq!(
            range([1.0, 256.0].into_iter(), Scale::Log, false),
            (1.0, 1000.0)
        );
        assert_eq!(
            range([100.0].into_iter(), Scale::Log, true),
            (100.0, 1000.0)
        );
        assert_eq!(
            range([2.0, 12.0].into_iter(), Scale::Linear, true),
            (0.0, 12.96)
        );
        assert_eq!(range(std::iter::empty(), Scale::Log, true), (1.0, 10.0));
        assert_eq!(
            shown(
                &[
                    (0.0, 1.0),
                    (1.0, 0.0),
                    (2.0, 3.0),
                    (f64::NAN, 1.0),
                    (4.0, 5.0),
                    BREAK
                ],
                Scale::Log,
                Scale::Log
            ),
            vec![vec![(2.0, 3.0)], vec![(4.0, 5.0)]]
        );
    }

    #[test]
    fn writes_every_series_with_its_label() {
        let dir = crate::temp_dir::TempDir::new("plot");
        let path = dir.path().join("plot.svg");
        let panel = |scale| Panel {
            title: "Throughput".into(),
            x_label: "clients".into(),
            y_label: "cmds/s".into(),
            x_scale: scale,
            y_scale: scale,
            series: vec![
                Series {
                    label: "first series".into(),
                    points: vec![(1.0, 10.0), (4.0, 40.0), BREAK, (8.0, 80.0)],
                },
                Series {
                    label: "second series".into(),
                    points: vec![(1.0, 5.0)],
                },
            ],
        };
        write_svg(
            &path,
            &[panel(Scale::Log), panel(Scale::Linear), panel(Scale::Log)],
            (400, 300),
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("first series").count(), 3);
        assert_eq!(svg.matches("second series").count(), 3);
        // A line per run of points, and one legend entry per series.
        assert!(svg.matches("<polyline").count() >= 3);
        assert!(
            svg.contains(r#"width="800""#) && svg.contains(r#"height="600""#),
            "{svg}"
        );
    }
}
