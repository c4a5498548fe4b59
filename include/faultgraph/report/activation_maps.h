// The seed's visualization (Keract's display_activations): for one input, each selected
// layer's output drawn as a grid of maps, one per channel (grey like the seed, or a colour
// map), dense outputs as a strip. With a fault, the golden, faulty and |difference| grids
// side by side, with the corrupted elements marked. One PNG per layer (OpenCV).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "faultgraph/fault/insert_faults.h"
#include "faultgraph/ir/graph.h"

namespace fg {

struct ActivationOptions {
  std::vector<std::string> layers;  // node-name globs; empty: every node with a float output
  std::string colormap = "grey";    // grey, viridis, inferno, magma, jet, hot
  int64_t max_channels = 64;        // channels drawn per layer (the first ones)
};

// Where things are in one written image: panel p (0 golden, 1 faulty, 2 difference) starts
// at panel_left[p]; channel c's map at (col, row) = (c % cols, c / cols) of the grid; each
// element of a map is a cell of `scale` x `scale` pixels. Dense (1-D) outputs: one map of
// `map_h` rows of `map_w` elements.
struct ActivationMap {
  std::string node, op, path;
  std::vector<int64_t> shape;       // the output's shape (batch 1)
  int64_t channels = 0, shown = 0;  // channels in the output, drawn
  double low = 0, high = 0;         // the colour scale (the golden output's range)
  double max_difference = 0;        // max |faulty - golden| (0 without a fault)
  int64_t changed = 0;              // elements that differ (NaN-aware)
  bool fault_site = false;          // the fault corrupts this output
  int width = 0, height = 0, header = 0, cols = 0, map_w = 0, map_h = 0, scale = 1, gap = 0;
  std::vector<int> panel_left;
  // The pixel (x, y) at the centre of element (y, x) of channel c's map in panel p.
  std::pair<int, int> pixel(int panel, int64_t c, int64_t y, int64_t x) const;
};

// Runs `model` on `input` (batch 1; `sample` is its dataset index, which keys per-sample
// random faults as in `inject`) and writes one PNG per selected layer into `out_dir`
// (NN_<node>.png, in graph order). With `fault`, the model with that fault inserted runs
// too and each image shows golden | faulty | |difference|. UsageError when a glob selects
// nothing or the colour map is unknown.
std::vector<ActivationMap> write_activation_maps(const Graph& model, const at::Tensor& input,
                                                 const std::string& out_dir,
                                                 const ActivationOptions& options,
                                                 const std::optional<PlannedFault>& fault = {},
                                                 int64_t sample = 0);

}  // namespace fg
