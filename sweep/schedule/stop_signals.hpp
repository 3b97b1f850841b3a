#pragma once

namespace icl {

// SIGINT, SIGTERM and SIGUSR1 ask the sweep to stop: hand out no more work, cancel running
// runs at their next condition, write a checkpoint and exit 3. The handlers only set a flag.
void install_stop_handlers();
// SIGXFSZ ignored: a write beyond the file-size limit (ulimit -f) then fails with EFBIG, which
// the writers report as any failed write (exit 1, the journal kept for --resume), instead of the
// default action killing the process without a word.
void ignore_file_size_signal();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none, kStopFromAnotherRank
constexpr int kStopFromAnotherRank = -1;
constexpr int kStopAtDeadline = -2;  // --stop-after / --stop-at
// A stop that reached this process another way: a rank that cancelled its run, or a failure
// that must wind the sweep down.
void request_stop(int reason);

}  // namespace icl
