// Charts drawn from small known data: the image has the stated size, and each bar's colour
// is where its value puts it (and the background where no bar is).
#include "faultgraph/report/charts.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "faultgraph/core/error.h"
#include "test_util.h"

namespace fg {
namespace {

std::filesystem::path temp_dir() {
  auto d = test::temp_path(std::string("charts_") +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(d);
  return d;
}

cv::Vec3b pixel(const cv::Mat& img, double x, double y) {
  return img.at<cv::Vec3b>(static_cast<int>(std::lround(y)), static_cast<int>(std::lround(x)));
}
bool is(cv::Vec3b p, Rgb c) {  // OpenCV is BGR; allow the anti-aliasing of one step
  return std::abs(p[2] - c.r) <= 2 && std::abs(p[1] - c.g) <= 2 && std::abs(p[0] - c.b) <= 2;
}
const Rgb kWhite{255, 255, 255};

TEST(Charts, BarsStandWhereTheirValuesPutThem) {
  auto dir = temp_dir();
  BarChart c;
  c.title = "SDC rate per layer";
  c.y_label = "SDC rate";
  c.categories = {"conv1", "layer1#0/conv_2", "fc"};
  Rgb blue{40, 90, 200}, red{200, 40, 40};
  c.series = {{"SDC", {0.10, 0.40, 0.20}, {0.05, 0.30, 0.15}, {0.15, 0.50, 0.25}, blue},
              {"DUE", {0.0, 0.05, 0.30}, {}, {}, red}};
  c.percent = true;
  std::string path = (dir / "bars.png").string();
  ChartGeometry g = write_chart(c, path);
  cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, g.width);
  EXPECT_EQ(img.rows, g.height);
  EXPECT_GT(g.y_max, 50.0);  // percent, above the highest error bar
  // Each bar's colour half way up it, a quarter of a slot left (SDC) or right (DUE) of
  // the category's centre; white above the bar.
  double slot = (g.right - g.left) / 3;
  for (size_t i = 0; i < 3; ++i) {
    double x_sdc = g.x_of(i, 3) - slot * 0.3, x_due = g.x_of(i, 3) + slot * 0.2;
    double sdc = c.series[0].values[i] * 100, due = c.series[1].values[i] * 100;
    EXPECT_TRUE(is(pixel(img, x_sdc, g.y_of(sdc / 2)), blue)) << "SDC bar " << i;
    EXPECT_FALSE(is(pixel(img, x_sdc, g.y_of(sdc / 2)), kWhite));
    if (due > 0) {
      EXPECT_TRUE(is(pixel(img, x_due, g.y_of(due / 2)), red)) << "DUE bar " << i;
    }
  }
  // Above the tallest bar's error bar, inside the plot: background (grid lines aside).
  EXPECT_FALSE(is(pixel(img, g.x_of(0, 3) - slot * 0.3, g.y_of(30)), blue));
  EXPECT_FALSE(is(pixel(img, g.x_of(1, 3) - slot * 0.3, g.y_of(55)), blue));
  // No bar for a zero value.
  EXPECT_FALSE(is(pixel(img, g.x_of(0, 3) + slot * 0.2, g.y_of(1)), red));
}

TEST(Charts, StackedBarsAddUp) {
  auto dir = temp_dir();
  BarChart c;
  c.title = "outcomes";
  c.categories = {"activation", "weight"};
  c.stacked = true;
  c.percent = true;
  c.y_max = 1;
  Rgb a{10, 150, 10}, b{150, 10, 150};
  c.series = {{"masked", {0.7, 0.2}, {}, {}, a}, {"sdc", {0.3, 0.8}, {}, {}, b}};
  std::string path = (dir / "stack.png").string();
  ChartGeometry g = write_chart(c, path);
  cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_DOUBLE_EQ(g.y_max, 100);
  EXPECT_TRUE(is(pixel(img, g.x_of(0, 2), g.y_of(35)), a));
  EXPECT_TRUE(is(pixel(img, g.x_of(0, 2), g.y_of(85)), b));
  EXPECT_TRUE(is(pixel(img, g.x_of(1, 2), g.y_of(10)), a));
  EXPECT_TRUE(is(pixel(img, g.x_of(1, 2), g.y_of(60)), b));
}

TEST(Charts, SvgAndLineCharts) {
  auto dir = temp_dir();
  LineChart c;
  LinePanel acc{"accuracy", "epoch", "accuracy", {}, true};
  acc.series = {{"train", {1, 2, 3}, {0.5, 0.7, 0.8}, {20, 20, 200}, false},
                {"test", {1, 2, 3}, {0.45, 0.6, 0.75}, {200, 20, 20}, true}};
  LinePanel loss{"loss", "epoch", "loss", {}, false};
  loss.series = {{"train", {1, 2, 3}, {1.2, 0.8, 0.5}, {20, 20, 200}, false}};
  c.panels = {acc, loss};
  std::string svg = (dir / "curves.svg").string();
  write_chart(c, svg);
  std::ifstream in(svg);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("<svg"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(svg + ".tmp"));
  std::string png = (dir / "curves.png").string();
  ChartGeometry g = write_chart(c, png);
  cv::Mat img = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, g.width);
  EXPECT_GE(g.width, 960);
  // The train line passes through (2, 70%): its colour near that point.
  double x = g.left + (g.right - g.left) * (2 - 0.96) / (3.04 - 0.96);
  bool found = false;
  for (int dy = -3; dy <= 3 && !found; ++dy)
    found = is(pixel(img, x, g.y_of(70) + dy), Rgb{20, 20, 200});
  EXPECT_TRUE(found);
}

TEST(Charts, BadPathsAndDataAreUsageErrors) {
  auto dir = temp_dir();
  BarChart c;
  c.categories = {"a", "b"};
  c.series = {{"x", {1, 2}, {}, {}, {}}};
  EXPECT_THROW(write_chart(c, (dir / "chart.jpg").string()), UsageError);
  EXPECT_THROW(write_chart(c, (dir / "missing" / "chart.png").string()), UsageError);
  c.series[0].values = {1};
  EXPECT_THROW(write_chart(c, (dir / "chart.png").string()), UsageError);
  EXPECT_FALSE(std::filesystem::exists(dir / "chart.png"));
}

}  // namespace
}  // namespace fg
