#include "faultgraph/report/activation_maps.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unordered_map>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/ir/dump.h"
#include "faultgraph/ir/topo.h"

namespace fg {

std::pair<int, int> ActivationMap::pixel(int panel, int64_t c, int64_t y, int64_t x) const {
  int64_t col = c % std::max(1, cols), row = c / std::max(1, cols);
  int64_t left = panel_left.at(static_cast<size_t>(panel)) + col * (map_w * scale + gap);
  int64_t top = header + row * (map_h * scale + gap);
  return {static_cast<int>(left + x * scale + scale / 2),
          static_cast<int>(top + y * scale + scale / 2)};
}

namespace {

const cv::Scalar kNonFinite(255, 0, 255);  // BGR magenta: NaN or infinity
const cv::Scalar kMark(0, 0, 230);         // BGR red: corrupted elements
const cv::Scalar kText(20, 20, 20);

bool colormap_of(const std::string& name, int& out) {
  static const std::pair<const char*, int> maps[] = {{"grey", -1},
                                                     {"gray", -1},
                                                     {"viridis", cv::COLORMAP_VIRIDIS},
                                                     {"inferno", cv::COLORMAP_INFERNO},
                                                     {"magma", cv::COLORMAP_MAGMA},
                                                     {"jet", cv::COLORMAP_JET},
                                                     {"hot", cv::COLORMAP_HOT}};
  for (const auto& [n, m] : maps) {
    if (name == n) {
      out = m;
      return true;
    }
  }
  return false;
}

// ASCII only: OpenCV's Hershey fonts have no other glyphs.
std::string ascii(const std::string& s, size_t max_chars = 120) {
  std::string out;
  for (unsigned char c : s) out += c >= 32 && c < 127 ? static_cast<char>(c) : '?';
  if (out.size() > max_chars) {
    out.resize(max_chars - 3);
    out.append("...");
  }
  return out;
}

std::string file_stem(const std::string& node) {
  std::string out;
  for (char c : node)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  if (out.size() > 80) out = out.substr(out.size() - 80);
  return out;
}

// The output as maps: [maps, h, w] (float, batch dimension dropped).
at::Tensor as_maps(const at::Tensor& value, int64_t& strip_w) {
  at::Tensor t = value.detach().to(at::kFloat).contiguous();
  if (t.dim() >= 2 && t.size(0) == 1) t = t.squeeze(0);
  strip_w = 0;
  if (t.dim() == 3) return t;
  if (t.dim() == 2) return t.unsqueeze(1);  // [C, L]: C maps of one row
  // Dense or unusual ranks: one strip, wrapped into rows.
  t = t.reshape({-1});
  int64_t n = std::max<int64_t>(1, t.numel());
  strip_w = std::min<int64_t>(n, 256);
  int64_t rows = (n + strip_w - 1) / strip_w;
  at::Tensor padded = at::full({rows * strip_w}, std::nanf(""), t.options());
  padded.narrow(0, 0, t.numel()).copy_(t);
  // Padding past the end is not data: drawn as background, marked NaN until then.
  return padded.reshape({1, rows, strip_w});
}

// 8-bit grey of `m` ([h, w]) scaled from [lo, hi]; `bad` gets the non-finite elements.
cv::Mat to_grey(const at::Tensor& m, double lo, double hi, cv::Mat& bad) {
  int h = static_cast<int>(m.size(0)), w = static_cast<int>(m.size(1));
  cv::Mat out(h, w, CV_8UC1), mask(h, w, CV_8UC1, cv::Scalar(0));
  auto a = m.accessor<float, 2>();
  double span = hi - lo;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      float v = a[y][x];
      if (!std::isfinite(v)) {
        out.at<uint8_t>(y, x) = 0;
        mask.at<uint8_t>(y, x) = 255;
        continue;
      }
      double t = span > 0 ? (v - lo) / span : 0.5;
      out.at<uint8_t>(y, x) = static_cast<uint8_t>(std::lround(255 * std::clamp(t, 0.0, 1.0)));
    }
  }
  bad = mask;
  return out;
}

cv::Mat colour(const cv::Mat& grey, int colormap) {
  cv::Mat out;
  if (colormap < 0) {
    cv::cvtColor(grey, out, cv::COLOR_GRAY2BGR);
  } else {
    cv::applyColorMap(grey, out, colormap);
  }
  return out;
}

void text(cv::Mat& img, const std::string& s, int x, int y, double size = 0.45) {
  cv::putText(img, ascii(s), {x, y}, cv::FONT_HERSHEY_SIMPLEX, size, kText, 1, cv::LINE_AA);
}

struct Layer {
  const Node* node;
  at::Tensor golden, faulty;  // faulty undefined without a fault
};

}  // namespace

std::vector<ActivationMap> write_activation_maps(const Graph& model, const at::Tensor& input,
                                                 const std::string& out_dir,
                                                 const ActivationOptions& options,
                                                 const std::optional<PlannedFault>& fault,
                                                 int64_t sample) {
  int colormap = -1;
  FG_CHECK(colormap_of(options.colormap, colormap), UsageError, "--colormap ", options.colormap,
           ": must be grey, viridis, inferno, magma, jet or hot");
  FG_CHECK(options.max_channels > 0, UsageError, "--max-channels must be at least 1");
  prepare_output_dir(out_dir);
  std::vector<NodeId> order = topological_order(model);
  std::vector<const Node*> chosen;
  std::vector<bool> used(options.layers.size(), false);
  for (NodeId id : order) {
    const Node& n = model.node(id);
    bool take = options.layers.empty();
    for (size_t i = 0; i < options.layers.size(); ++i) {
      if (fnmatch(options.layers[i].c_str(), n.name.c_str(), 0) == 0) {
        take = true;
        used[i] = true;
      }
    }
    if (take) chosen.push_back(&n);
  }
  for (size_t i = 0; i < used.size(); ++i)
    FG_CHECK(used[i], UsageError, "--layers ", options.layers[i],
             ": matches no node (see `faultgraph inspect MODEL`)");

  at::Tensor x = input.dim() == 3 ? input.unsqueeze(0) : input;
  Executor golden_exec(model);
  GoldenCache golden = golden_exec.run_cached({x}, sample);
  std::optional<Executor> faulty_exec;
  std::optional<GoldenCache> faulty;
  // A golden node's name -> the name that gives its output as the consumers saw it in the
  // faulty model (the Fault node after it, for an activation fault).
  std::unordered_map<std::string, std::string> seen_as;
  std::string site_node;
  if (fault) {
    Graph g = insert_faults(model, {*fault});
    for (const Node& n : g.nodes()) {
      if (n.op != OpKind::kFault || n.inputs.empty()) continue;
      const Value& in = g.value(n.inputs[0]);
      if (in.producer != kNoNode && fault->site.kind == SiteKind::kActivation)
        seen_as[g.node(in.producer).name] = n.name;
    }
    site_node = fault->site.node;
    faulty_exec.emplace(std::move(g));
    faulty.emplace(faulty_exec->run_cached({x}, sample));
  }

  std::vector<ActivationMap> out;
  int index = 0;
  for (const Node* n : chosen) {
    ++index;
    ActivationMap m;
    m.node = n->name;
    m.op = std::string(op_name(n->op));
    at::Tensor value = golden.at(n->name);
    if (!value.is_floating_point()) continue;  // shapes, indices: nothing to see
    m.shape = value.sizes().vec();
    int64_t strip_w = 0;
    at::Tensor g = as_maps(value, strip_w);
    at::Tensor f;
    if (faulty) {
      auto it = seen_as.find(n->name);
      f = as_maps(faulty->at(it == seen_as.end() ? n->name : it->second), strip_w);
    }
    m.channels = strip_w ? 1 : g.size(0);
    m.shown = std::min<int64_t>(m.channels, options.max_channels);
    at::Tensor diff, changed;
    if (f.defined()) {
      // Changed: different values, NaN-aware (NaN vs NaN is unchanged); counted over the
      // whole output, drawn for the channels shown.
      changed = (f != g) & ~(at::isnan(f) & at::isnan(g));
      m.changed = changed.sum().item<int64_t>();
      if (strip_w) m.changed = changed.flatten().narrow(0, 0, value.numel()).sum().item<int64_t>();
      diff = (f - g).abs();
      diff.masked_fill_(~changed, 0.0f);
      at::Tensor fin = diff.masked_select(at::isfinite(diff));
      m.max_difference = fin.numel() ? fin.max().item<double>() : 0.0;
      m.fault_site = n->name == site_node;
      f = f.narrow(0, 0, m.shown);
      diff = diff.narrow(0, 0, m.shown);
      changed = changed.narrow(0, 0, m.shown);
    }
    g = g.narrow(0, 0, m.shown);
    at::Tensor finite = g.masked_select(at::isfinite(g));
    m.low = finite.numel() ? finite.min().item<double>() : 0.0;
    m.high = finite.numel() ? finite.max().item<double>() : 0.0;
    m.map_h = static_cast<int>(g.size(1));
    m.map_w = static_cast<int>(g.size(2));
    int longest = std::max(m.map_h, m.map_w);
    m.scale = strip_w ? std::clamp(512 / std::max(1, m.map_w), 1, 24)
                      : std::clamp(56 / std::max(1, longest), 1, 16);
    m.gap = strip_w ? 0 : 2;
    m.cols = strip_w ? 1 : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(m.shown))));
    int rows = static_cast<int>((m.shown + m.cols - 1) / m.cols);
    int panel_w = m.cols * (m.map_w * m.scale + m.gap);
    int panel_h = rows * (m.map_h * m.scale + m.gap);
    int panels = f.defined() ? 3 : 1;
    m.header = f.defined() ? 108 : 56;
    for (int p = 0; p < panels; ++p) m.panel_left.push_back(10 + p * (panel_w + 24));
    m.width = std::max(10 + panels * (panel_w + 24), 720);
    m.height = m.header + panel_h + 10;
    cv::Mat img(m.height, m.width, CV_8UC3, cv::Scalar(255, 255, 255));

    std::vector<std::string> shape;
    for (int64_t d : m.shape) shape.push_back(std::to_string(d));
    text(img, fmt::format("{} ({})  [{}]", n->name, m.op, fmt::join(shape, ",")), 10, 18, 0.55);
    text(img,
         fmt::format("{}; {} scale [{:.4g}, {:.4g}] (the golden output's range){}",
                     strip_w ? fmt::format("{} values, {} per row", value.numel(), strip_w)
                             : fmt::format("channels 0-{} of {}", m.shown - 1, m.channels),
                     options.colormap, m.low, m.high,
                     m.scale > 1 ? fmt::format(", {}x", m.scale) : ""),
         10, 38);
    if (f.defined()) {
      text(img,
           fmt::format("fault: {}{}", describe(fault->site),
                       m.fault_site ? " (this layer; red: the corrupted elements)" : ""),
           10, 58);
      text(img,
           fmt::format("{} elements differ, max |diff| {:.4g}; magenta: NaN or infinity", m.changed,
                       m.max_difference),
           10, 78);
      const char* captions[] = {"golden", "faulty", "|faulty - golden| (log scale)"};
      for (int p = 0; p < 3; ++p) text(img, captions[p], m.panel_left[static_cast<size_t>(p)], 100);
    }
    for (int64_t c = 0; c < m.shown; ++c) {
      for (int p = 0; p < panels; ++p) {
        cv::Mat bad, tile;
        if (p == 2) {
          // log(1 + |diff|): a small change stays visible beside a huge one.
          double top = std::log1p(m.max_difference);
          tile =
              colour(to_grey(diff[c].log1p(), 0.0, top > 0 ? top : 1.0, bad), cv::COLORMAP_INFERNO);
        } else {
          tile = colour(to_grey(p == 0 ? g[c] : f[c], m.low, m.high, bad), colormap);
        }
        tile.setTo(kNonFinite, bad);
        if (strip_w && c == 0) {  // the padding after the last value is background
          int64_t n_values = value.numel();
          for (int64_t i = n_values; i < static_cast<int64_t>(m.map_h) * m.map_w; ++i)
            tile.at<cv::Vec3b>(static_cast<int>(i / m.map_w), static_cast<int>(i % m.map_w)) = {
                255, 255, 255};
        }
        cv::Mat big;
        cv::resize(tile, big, {m.map_w * m.scale, m.map_h * m.scale}, 0, 0, cv::INTER_NEAREST);
        auto [cx, cy] = m.pixel(p, c, 0, 0);
        cv::Rect at(cx - m.scale / 2, cy - m.scale / 2, big.cols, big.rows);
        big.copyTo(img(at));
      }
      if (m.fault_site && changed.defined()) {
        // Red squares around the corrupted elements in faulty and difference; a red frame
        // around the whole map when more than a few are.
        at::Tensor where = changed[c].nonzero();
        auto w = where.accessor<int64_t, 2>();
        for (int p = 1; p < 3; ++p) {
          if (where.size(0) > 8) {
            auto [x0, y0] = m.pixel(p, c, 0, 0);
            cv::rectangle(
                img, {x0 - m.scale / 2 - 1, y0 - m.scale / 2 - 1},
                {x0 - m.scale / 2 + m.map_w * m.scale, y0 - m.scale / 2 + m.map_h * m.scale}, kMark,
                1);
            continue;
          }
          for (int64_t i = 0; i < where.size(0); ++i) {
            auto [px, py] = m.pixel(p, c, w[i][0], w[i][1]);
            int r = std::max(3, m.scale);
            cv::rectangle(img, {px - r, py - r}, {px + r, py + r}, kMark, 1);
          }
        }
      }
    }
    m.path =
        (std::filesystem::path(out_dir) / fmt::format("{:03d}_{}.png", index, file_stem(n->name)))
            .string();
    std::vector<uint8_t> png;
    FG_CHECK(cv::imencode(".png", img, png), UsageError, m.path, ": could not encode the image");
    write_file_atomic(m.path,
                      std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace fg
