#include "faultgraph/core/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <string>

namespace fg {

namespace {
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // Second signal: the user insists. Only async-signal-safe calls here.
    const char msg[] = "\nfaultgraph: interrupted again, stopping now\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(128 + sig);
  }
}
}  // namespace

Interrupted::Interrupted(int signal)
    : std::runtime_error(std::string("interrupted by ") + (signal == SIGINT    ? "SIGINT (Ctrl-C)"
                                                           : signal == SIGTERM ? "SIGTERM"
                                                                               : "a signal")),
      signal_(signal) {}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the loop checks
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

void check_interrupt() {
  int s = interrupt_signal();
  if (s != 0) throw Interrupted(s);
}

void clear_interrupt() { g_signal.store(0); }

}  // namespace fg
