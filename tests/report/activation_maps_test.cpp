// Activation maps from known data: a fault that changes one element of one layer's output
// shows in the faulty and difference panels exactly there, nowhere else; the image has the
// size the layout says; layers the fault cannot reach show no difference.
#include "faultgraph/report/activation_maps.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <set>
#include <tuple>

#include "faultgraph/core/error.h"
#include "faultgraph/models/seed_inception.h"
#include "test_util.h"

namespace fg {
namespace {

cv::Vec3b at_px(const cv::Mat& img, std::pair<int, int> p) {
  return img.at<cv::Vec3b>(p.second, p.first);
}

TEST(ActivationMaps, OneCorruptedElementShowsExactlyThere) {
  Graph model = seed_inception_model({.seed = 7});
  at::Tensor x = at::rand({1, 28, 28}, at::TensorOptions().dtype(at::kFloat));
  // Element (channel 3, row 9, column 17) of conv2d_1/conv's output set to 1000.
  const int64_t c = 3, y = 9, xx = 17;
  FaultSpec spec;
  spec.kind = FaultKind::kSetValue;
  spec.value = 1000;
  spec.selection = Selection::kCoordinates;
  spec.coordinates = {(c * 28 + y) * 28 + xx};
  PlannedFault fault{{SiteKind::kActivation, "conv2d_1/conv", 0}, spec};
  ActivationOptions o;
  o.layers = {"conv2d_1/conv", "conv2d_2/conv"};
  auto dir = test::temp_path("activation_maps");
  std::vector<ActivationMap> maps = write_activation_maps(model, x, dir.string(), o, fault, 5);
  ASSERT_EQ(maps.size(), 2u);
  const ActivationMap& m = maps[0];
  EXPECT_EQ(m.node, "conv2d_1/conv");
  EXPECT_TRUE(m.fault_site);
  EXPECT_EQ(m.changed, 1);
  EXPECT_GT(m.max_difference, 900);
  cv::Mat img = cv::imread(m.path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, m.width);
  EXPECT_EQ(img.rows, m.height);
  ASSERT_EQ(m.panel_left.size(), 3u);
  const cv::Vec3b black_inferno = at_px(img, m.pixel(2, 0, 0, 0));
  int64_t differing = 0;
  for (int64_t ch = 0; ch < m.shown; ++ch) {
    for (int64_t r = 0; r < 28; ++r) {
      for (int64_t col = 0; col < 28; ++col) {
        bool here = ch == c && r == y && col == xx;
        bool near = ch == c && std::abs(r - y) <= 4 && std::abs(col - xx) <= 4;  // the red mark
        cv::Vec3b g = at_px(img, m.pixel(0, ch, r, col)), f = at_px(img, m.pixel(1, ch, r, col)),
                  d = at_px(img, m.pixel(2, ch, r, col));
        if (here) {
          EXPECT_EQ(f, cv::Vec3b(255, 255, 255));  // clipped to the top of the golden range
          EXPECT_NE(d, black_inferno);
          EXPECT_GT(int(d[0]) + d[1] + d[2], 600);  // the brightest of inferno
        } else if (!near) {
          differing += g != f || d != black_inferno;
        }
      }
    }
  }
  EXPECT_EQ(differing, 0);
  // The other branch is not downstream of the fault: no difference at all.
  EXPECT_EQ(maps[1].changed, 0);
  EXPECT_FALSE(maps[1].fault_site);
}

TEST(ActivationMaps, GoldenOnlyDenseStripAndChannelCap) {
  Graph model = seed_inception_model({.seed = 7});
  at::Tensor x = at::rand({1, 28, 28});
  ActivationOptions o;
  o.layers = {"concatenate", "dense_1"};
  o.max_channels = 10;
  o.colormap = "viridis";
  auto maps = write_activation_maps(model, x, test::temp_path("activation_maps_2").string(), o);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_GT(maps[0].channels, 10);
  EXPECT_EQ(maps[0].shown, 10);
  EXPECT_EQ(maps[0].panel_left.size(), 1u);
  EXPECT_EQ(maps[1].map_w, 10);  // dense: one strip of the 10 logits
  EXPECT_EQ(maps[1].map_h, 1);
  cv::Mat img = cv::imread(maps[1].path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  // Each logit's cell has its own colour: the lowest and the highest differ.
  std::set<std::tuple<int, int, int>> colours;
  for (int i = 0; i < 10; ++i) {
    cv::Vec3b p = at_px(img, maps[1].pixel(0, 0, 0, i));
    colours.insert({p[0], p[1], p[2]});
  }
  EXPECT_GT(colours.size(), 5u);
}

TEST(ActivationMaps, BadOptionsAreUsageErrors) {
  Graph model = seed_inception_model({.seed = 7});
  at::Tensor x = at::rand({1, 28, 28});
  ActivationOptions o;
  o.layers = {"no_such_layer*"};
  EXPECT_THROW(write_activation_maps(model, x, test::temp_path("am3").string(), o), UsageError);
  o.layers = {};
  o.colormap = "rainbow";
  EXPECT_THROW(write_activation_maps(model, x, test::temp_path("am3").string(), o), UsageError);
}

}  // namespace
}  // namespace fg
