// Ctrl-C and `kill`: SIGINT and SIGTERM ask the running command to stop. Long loops call
// check_interrupt() (Progress::advance does) and unwind with Interrupted, so files being
// written are finished or removed; the CLI exits with 128 + the signal (130, 143). A second
// signal ends the process at once.
#pragma once

#include <stdexcept>

namespace fg {

// Not an fg::Error: code that reports bad input and carries on (a config entry, a dataset
// file) must not swallow it.
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

// Installs the SIGINT/SIGTERM handlers (once; the CLI's main does it).
void install_interrupt_handlers();
// The signal received so far, or 0.
int interrupt_signal();
// Throws Interrupted when a signal has arrived.
void check_interrupt();
// For tests: forget a received signal.
void clear_interrupt();

}  // namespace fg
