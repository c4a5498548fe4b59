// A one-line progress display with rate and time left, redrawn in place on a terminal and
// silent otherwise (so logs and CI output stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fg {

class Progress {
 public:
  // `total` units (images, say) named `unit`; shows only when stderr is a terminal,
  // unless `force`.
  Progress(std::string label, int64_t total, std::string unit, bool force = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Also where long loops stop on Ctrl-C: throws Interrupted (core/interrupt.h).
  void advance(int64_t units);
  void set_label(std::string label) { label_ = std::move(label); }
  void finish();  // clears the line

 private:
  void draw();
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fg
