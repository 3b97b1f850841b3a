#include "schedule/stop_signals.hpp"

#include <atomic>
#include <csignal>
#include <initializer_list>

namespace icl {
namespace {

// Written by a handler on any thread, read by the coordinating and the computing threads:
// a lock-free atomic is both async-signal-safe and free of data races.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) { g_signal.store(signal); }

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : {SIGINT, SIGTERM, SIGUSR1}) sigaction(s, &action, nullptr);
}

void ignore_file_size_signal() { std::signal(SIGXFSZ, SIG_IGN); }

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }

void request_stop(int reason) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, reason);
}

}  // namespace icl
