#include "faultgraph/core/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

#include "faultgraph/core/interrupt.h"

namespace fg {

Progress::Progress(std::string label, int64_t total, std::string unit, bool force)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(force || isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::seconds(1)) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t units) {
  check_interrupt();  // every long loop advances a Progress: Ctrl-C stops it here
  done_ += units;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= std::chrono::milliseconds(200) || done_ >= total_) {
    last_draw_ = now;
    draw();
  }
}

void Progress::draw() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
  double left = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  int pct = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
  fmt::print(stderr, "\r\033[K{}  {:3d}%  {}/{} {}  {:.0f} {}/s  ETA {:.0f}s", label_, pct, done_,
             total_, unit_, rate, unit_, left);
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && done_ > 0) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  enabled_ = false;
}

}  // namespace fg
