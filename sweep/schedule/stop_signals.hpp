#pragma once

namespace icl {

// SIGINT, SIGTERM and SIGUSR1 ask the sweep to stop: hand out no more work, cancel running
// runs at their next condition, write a checkpoint and exit 3. The handlers only set a flag.
void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none, kStopFromAnotherRank
constexpr int kStopFromAnotherRank = -1;
constexpr int kStopAtDeadline = -2;  // --stop-after / --stop-at
// A stop that reached this process another way: a rank that cancelled its run, or a failure
// that must wind the sweep down.
void request_stop(int reason);

}  // namespace icl
