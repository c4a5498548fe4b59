// Charts drawn by PLplot (Debian's libplplot-dev, cairo driver): bar charts (grouped or
// stacked, with error bars) and line charts, written as PNG or SVG. PLplot was chosen over
// MathGL by drawing the per-layer vulnerability chart with both: MathGL reads every label as
// TeX markup (an underscore in a node name becomes a subscript) and pulls in 58 packages
// (MPI, HDF5, Qt, wxWidgets, FLTK); PLplot's only markup character is escaped here, its
// labels are plain sans-serif, and it needs 35.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fg {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

// The colours every chart and picture of faultgraph uses for the outcome classes.
Rgb outcome_color(const std::string& outcome);  // masked, tolerable, sdc1, sdc5, due

struct BarSeries {
  std::string name;
  std::vector<double> values;     // one per category
  std::vector<double> low, high;  // error bars (both empty: none)
  Rgb color;
};

struct BarChart {
  std::string title, x_label, y_label;
  std::string note;  // a smaller line under the title (what the error bars are, ...)
  std::vector<std::string> categories;
  std::vector<BarSeries> series;  // side by side, or on top of each other when stacked
  bool stacked = false;
  bool percent = false;  // values are fractions, drawn and labelled in percent
  double y_max = 0;      // 0: from the data
};

struct LineSeries {
  std::string name;
  std::vector<double> x, y;
  Rgb color;
  bool dashed = false;
};

struct LinePanel {
  std::string title, x_label, y_label;
  std::vector<LineSeries> series;
  bool percent = false;
};

struct LineChart {
  std::vector<LinePanel> panels;  // drawn side by side
};

// Where a chart's plot area lies in the image, for tests and for image maps: pixel
// coordinates (origin top left) of the first panel's axes box and its y range.
struct ChartGeometry {
  int width = 0, height = 0;
  double left = 0, right = 0, top = 0, bottom = 0;
  double y_min = 0, y_max = 0;  // in the values' units (percent when the chart is)
  // The pixel column of category `i`'s centre and the row of value `v` (bar charts).
  double x_of(size_t i, size_t categories) const;
  double y_of(double v) const;
};

// Writes the chart as PNG or SVG (by the extension of `path`), atomically. UsageError
// naming the path when it cannot be written or the chart is malformed (series of other
// lengths than the categories).
ChartGeometry write_chart(const BarChart& chart, const std::string& path);
ChartGeometry write_chart(const LineChart& chart, const std::string& path);

}  // namespace fg
