#pragma once

namespace icl {

// SIGINT, SIGTERM and SIGUSR1 ask the sweep to stop: hand out no more work, cancel running
// runs at their next condition, write a checkpoint and exit 3. The handlers only set a flag.
void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, or 0

}  // namespace icl
