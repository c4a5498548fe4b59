#include "faultgraph/report/charts.h"

#include <fmt/format.h>
#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "faultgraph/core/error.h"

namespace fg {

Rgb outcome_color(const std::string& outcome) {
  if (outcome == "masked") return {0x9e, 0xc9, 0xa8};
  if (outcome == "tolerable") return {0xf2, 0xd4, 0x7e};
  if (outcome == "sdc1") return {0xe0, 0x6c, 0x4c};
  if (outcome == "sdc5") return {0xa3, 0x1f, 0x34};
  if (outcome == "due") return {0x4a, 0x3a, 0x8c};
  return {0x80, 0x80, 0x80};
}

double ChartGeometry::x_of(size_t i, size_t categories) const {
  double n = static_cast<double>(std::max<size_t>(1, categories));
  return left + (right - left) * (static_cast<double>(i) + 0.5) / n;
}

double ChartGeometry::y_of(double v) const {
  return bottom - (bottom - top) * (v - y_min) / (y_max - y_min);
}

namespace {

std::mutex g_plplot_mutex;  // PLplot keeps its state in globals

// Character heights in mm: the cairo driver maps 1 mm to 72/25.4 pixels whatever the page
// size (PLplot's default scales text with the page).
constexpr double kTextMm = 3.4, kTitleMm = 4.0;

// PLplot reads '#' as the start of an escape sequence; "##" is a literal '#'.
std::string plain(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

// Long node names keep their distinctive end: "...layer4.2/conv3/Conv".
std::string shorten(const std::string& s, size_t max_chars) {
  if (s.size() <= max_chars) return s;
  return "..." + s.substr(s.size() - (max_chars - 3));
}

// Fatal PLplot errors call exit() after this handler unless it leaves by an exception.
int plplot_exit_handler(const char* message) {
  throw InternalError(fmt::format("PLplot: {}", message ? message : "fatal error"));
}

// Opens a PLplot stream on `tmp` for an image of width x height pixels; plend1() on
// destruction. Colour 0 is the white background, 1 black, 2 a light grey for grids.
class PlotStream {
 public:
  PlotStream(const std::string& path, const std::string& tmp, int width, int height) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::string device = ext == ".png" ? "pngcairo" : ext == ".svg" ? "svgcairo" : "";
    FG_CHECK(!device.empty(), UsageError, path, ": a chart is written as .png or .svg");
    {
      std::ofstream probe(tmp, std::ios::binary | std::ios::trunc);
      FG_CHECK(probe.good(), UsageError, path,
               ": cannot write the chart here (choose a writable folder)");
    }
    plsexit(plplot_exit_handler);
    plmkstrm(&stream_);
    plsdev(device.c_str());
    plsfnam(tmp.c_str());
    plspage(0, 0, width, height, 0, 0);
    plscolbg(255, 255, 255);
    plinit();
    plscmap0n(64);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    plscol0(2, 215, 215, 215);
    plscol0(3, 90, 90, 90);
    pladv(0);
  }
  ~PlotStream() { plend1(); }
  PlotStream(const PlotStream&) = delete;
  PlotStream& operator=(const PlotStream&) = delete;

  // Colour index for `c` (4 and up).
  int color(Rgb c) {
    int i = next_color_++;
    plscol0(i, c.r, c.g, c.b);
    return i;
  }

 private:
  PLINT stream_ = 0;
  int next_color_ = 4;
};

void finish(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  FG_CHECK(!ec, UsageError, path, ": cannot write the chart (", ec.message(), ")");
}

// The axes box of the current viewport in pixels.
void fill_geometry(ChartGeometry& g) {
  PLFLT x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  plgvpd(&x0, &x1, &y0, &y1);
  g.left = x0 * g.width;
  g.right = x1 * g.width;
  g.top = (1 - y1) * g.height;
  g.bottom = (1 - y0) * g.height;
}

void legend(PlotStream& s, const std::vector<std::string>& names, const std::vector<Rgb>& colors,
            bool lines, const std::vector<bool>& dashed = {}) {
  int n = static_cast<int>(names.size());
  if (n < 2) return;
  std::vector<PLINT> opt(n, lines ? PL_LEGEND_LINE : PL_LEGEND_COLOR_BOX), col(n), pattern(n, 0),
      style(n, 1), text_col(n, 1);
  std::vector<PLFLT> scale(n, 0.9), width(n, 2.0);
  std::vector<std::string> text(n);
  std::vector<const char*> ptr(n);
  for (int i = 0; i < n; ++i) {
    col[i] = s.color(colors[i]);
    if (!dashed.empty() && dashed[i]) style[i] = 2;
    text[i] = plain(names[i]);
    ptr[i] = text[i].c_str();
  }
  PLFLT w = 0, h = 0;
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.015, 0.0, 0.05, 0, 2, 1, n, 1, n, opt.data(),
           0.8, 0.8, 1.8, 0.0, text_col.data(), ptr.data(), col.data(), pattern.data(),
           scale.data(), width.data(), col.data(), style.data(), width.data(), nullptr, nullptr,
           nullptr, nullptr);
}

double nice_max(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0})
    if (m * p >= v * 1.05) return m * p;
  return 10 * p;
}

}  // namespace

ChartGeometry write_chart(const BarChart& c, const std::string& path) {
  size_t n = c.categories.size();
  FG_CHECK(n > 0 && !c.series.empty(), UsageError, path, ": a bar chart needs data");
  for (const BarSeries& s : c.series) {
    FG_CHECK(s.values.size() == n && (s.low.empty() || s.low.size() == n) &&
                 s.low.size() == s.high.size(),
             UsageError, path, ": series '", s.name, "' has ", s.values.size(), " values for ", n,
             " categories");
  }
  double k = c.percent ? 100.0 : 1.0;
  std::vector<std::string> labels;
  size_t longest = 0;
  for (const std::string& cat : c.categories) {
    labels.push_back(plain(shorten(cat, 36)));
    longest = std::max(longest, shorten(cat, 36).size());
  }
  bool vertical = longest > 4 || n > 40;
  double top = 0;
  for (size_t i = 0; i < n; ++i) {
    double stack = 0;
    for (const BarSeries& s : c.series) {
      double v = s.values[i];
      if (!s.high.empty()) v = std::max(v, s.high[i]);
      if (std::isfinite(v)) stack = c.stacked ? stack + v : std::max(stack, v);
    }
    top = std::max(top, stack);
  }
  ChartGeometry g;
  g.y_min = 0;
  g.y_max = c.y_max > 0 ? c.y_max * k : nice_max(top * k);
  size_t per = c.stacked ? 1 : c.series.size();
  int legend_px = c.series.size() > 1 ? 110 : 0;
  g.width =
      static_cast<int>(std::clamp<size_t>(170 + n * std::max<size_t>(14, 9 * per), 640, 4000)) +
      legend_px;
  int label_px = vertical ? static_cast<int>(16 + 7.4 * static_cast<double>(longest)) : 24;
  g.height = 340 + label_px + (c.note.empty() ? 0 : 14) + (c.x_label.empty() ? 0 : 18);
  std::string tmp = path + ".tmp";
  {
    std::lock_guard<std::mutex> lock(g_plplot_mutex);
    PlotStream s(path, tmp, g.width, g.height);
    plschr(kTextMm, 1.0);
    double bottom_nd = (label_px + 30.0 + (c.x_label.empty() ? 0 : 18)) / g.height;
    double left_nd = 80.0 / g.width, right_nd = 1 - (25.0 + legend_px) / g.width;
    double top_nd = 1 - (c.note.empty() ? 48.0 : 62.0) / g.height;
    plvpor(left_nd, right_nd, bottom_nd, top_nd);
    plwind(-0.5, static_cast<double>(n) - 0.5, g.y_min, g.y_max);
    fill_geometry(g);
    plcol0(2);
    plbox("", 0, 0, "g", 0, 0);
    double slot = 0.8 / static_cast<double>(per);
    std::vector<double> base(n, 0.0);
    std::vector<Rgb> colors;
    std::vector<std::string> names;
    for (size_t j = 0; j < c.series.size(); ++j) {
      const BarSeries& ser = c.series[j];
      names.push_back(ser.name);
      colors.push_back(ser.color);
      int col = s.color(ser.color);
      std::vector<double> xs, lo, hi;
      for (size_t i = 0; i < n; ++i) {
        double v = ser.values[i] * k;
        double x0 = c.stacked ? static_cast<double>(i) - 0.4
                              : static_cast<double>(i) - 0.4 + slot * static_cast<double>(j);
        double x1 = x0 + (c.stacked ? 0.8 : slot) * 0.92;
        if (std::isfinite(v) && v > 0) {
          double y0 = c.stacked ? base[i] : 0.0, y1 = std::min(y0 + v, g.y_max);
          PLFLT bx[4] = {x0, x0, x1, x1}, by[4] = {y0, y1, y1, y0};
          plcol0(col);
          plfill(4, bx, by);
          if (c.stacked) base[i] += v;
        }
        if (!ser.low.empty() && std::isfinite(ser.low[i]) && std::isfinite(ser.high[i])) {
          xs.push_back((x0 + x1) / 2);
          lo.push_back(ser.low[i] * k);
          hi.push_back(std::min(ser.high[i] * k, g.y_max));
        }
      }
      if (!xs.empty()) {
        plcol0(1);
        plwidth(1.0);
        plerry(static_cast<PLINT>(xs.size()), xs.data(), lo.data(), hi.data());
      }
    }
    plcol0(1);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    for (size_t i = 0; i < n; ++i) {
      double pos = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
      plmtex(vertical ? "bv" : "b", vertical ? 0.6 : 1.4, pos, vertical ? 1.0 : 0.5,
             labels[i].c_str());
    }
    plschr(kTitleMm, 1.0);
    plmtex("t", c.note.empty() ? 1.6 : 2.8, 0.5, 0.5, plain(c.title).c_str());
    plschr(kTextMm, 1.0);
    if (!c.note.empty()) {
      plcol0(3);
      plmtex("t", 1.1, 0.5, 0.5, plain(c.note).c_str());
      plcol0(1);
    }
    plmtex("l", 4.2, 0.5, 0.5, plain(c.y_label + (c.percent ? " (%)" : "")).c_str());
    if (!c.x_label.empty()) {
      // plmtex measures in character heights: the labels' height in pixels over one's.
      PLFLT def_mm = 0, ht_mm = 0, x0 = 0, x1 = 0, y0 = 0, y1 = 0;
      plgchr(&def_mm, &ht_mm);
      plgspa(&x0, &x1, &y0, &y1);
      double char_px = ht_mm * g.height / std::max(1e-9, y1 - y0);
      double disp = vertical ? (label_px + 4.0) / char_px : 3.0;
      plmtex("b", disp, 0.5, 0.5, plain(c.x_label).c_str());
    }
    legend(s, names, colors, false);
  }
  finish(tmp, path);
  return g;
}

ChartGeometry write_chart(const LineChart& c, const std::string& path) {
  FG_CHECK(!c.panels.empty(), UsageError, path, ": a line chart needs data");
  for (const LinePanel& p : c.panels)
    for (const LineSeries& s : p.series)
      FG_CHECK(s.x.size() == s.y.size(), UsageError, path, ": series '", s.name, "' has ",
               s.x.size(), " x and ", s.y.size(), " y values");
  ChartGeometry g;
  int panels = static_cast<int>(c.panels.size());
  const int legend_px = 90;
  g.width = (480 + legend_px) * panels;
  g.height = 360;
  std::string tmp = path + ".tmp";
  {
    std::lock_guard<std::mutex> lock(g_plplot_mutex);
    PlotStream s(path, tmp, g.width, g.height);
    plschr(kTextMm, 1.0);
    for (int p = 0; p < panels; ++p) {
      const LinePanel& panel = c.panels[static_cast<size_t>(p)];
      double k = panel.percent ? 100.0 : 1.0;
      double x0 = 0, x1 = 1, y0 = 0, y1 = 0;
      bool any = false;
      for (const LineSeries& ser : panel.series) {
        for (size_t i = 0; i < ser.x.size(); ++i) {
          if (!std::isfinite(ser.x[i]) || !std::isfinite(ser.y[i])) continue;
          if (!any) {
            x0 = x1 = ser.x[i];
            y0 = y1 = ser.y[i] * k;
            any = true;
          }
          x0 = std::min(x0, ser.x[i]);
          x1 = std::max(x1, ser.x[i]);
          y0 = std::min(y0, ser.y[i] * k);
          y1 = std::max(y1, ser.y[i] * k);
        }
      }
      if (x1 <= x0) x1 = x0 + 1;
      double pad = (y1 - y0) * 0.08;
      if (!(pad > 0)) pad = std::max(1e-3, std::abs(y1) * 0.1);
      y0 -= pad;
      y1 += pad;
      if (panel.percent) y1 = std::min(y1, 100.0 + pad);
      double w = 1.0 / panels;
      plvpor(w * p + 70.0 / g.width, w * (p + 1) - (20.0 + legend_px) / g.width, 50.0 / g.height,
             1 - 40.0 / g.height);
      plwind(x0 - 0.02 * (x1 - x0), x1 + 0.02 * (x1 - x0), y0, y1);
      if (p == 0) {
        fill_geometry(g);
        g.y_min = y0;
        g.y_max = y1;
      }
      plcol0(2);
      plbox("g", 0, 0, "g", 0, 0);
      std::vector<std::string> names;
      std::vector<Rgb> colors;
      std::vector<bool> dashed;
      for (const LineSeries& ser : panel.series) {
        std::vector<double> xs, ys;
        for (size_t i = 0; i < ser.x.size(); ++i) {
          if (!std::isfinite(ser.x[i]) || !std::isfinite(ser.y[i])) continue;
          xs.push_back(ser.x[i]);
          ys.push_back(ser.y[i] * k);
        }
        plcol0(s.color(ser.color));
        pllsty(ser.dashed ? 2 : 1);
        plwidth(2.0);
        if (xs.size() > 1) plline(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
        plpoin(static_cast<PLINT>(xs.size()), xs.data(), ys.data(), 17);
        pllsty(1);
        plwidth(1.0);
        names.push_back(ser.name);
        colors.push_back(ser.color);
        dashed.push_back(ser.dashed);
      }
      plcol0(1);
      // Whole-number x (epochs): ticks on whole numbers only.
      bool whole = true;
      for (const LineSeries& ser : panel.series)
        for (double v : ser.x) whole = whole && v == std::floor(v);
      double xtick = whole ? std::max(1.0, std::ceil((x1 - x0) / 8)) : 0.0;
      plbox("bcnst", xtick, whole ? 1 : 0, "bcnstv", 0, 0);
      plschr(kTitleMm, 1.0);
      plmtex("t", 1.4, 0.5, 0.5, plain(panel.title).c_str());
      plschr(kTextMm, 1.0);
      plmtex("b", 3.2, 0.5, 0.5, plain(panel.x_label).c_str());
      plmtex("l", 4.2, 0.5, 0.5, plain(panel.y_label + (panel.percent ? " (%)" : "")).c_str());
      legend(s, names, colors, true, dashed);
    }
  }
  finish(tmp, path);
  return g;
}

}  // namespace fg
