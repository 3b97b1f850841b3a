#pragma once
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace icl {

// MPI for the lifetime of the object. Only the main thread calls MPI (rank 0's compute
// thread never does), so MPI_THREAD_FUNNELED is enough.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (provided < MPI_THREAD_FUNNELED) {
      std::fprintf(stderr, "icl-sweep: this MPI library does not allow a computing thread beside MPI\n");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Open MPI's blocking calls spin on a core; a rank that waits polls and sleeps instead, with
// a back-off from 50 us to 2 ms, so that an idle rank leaves its core to the computing ones.
class Backoff {
 public:
  void reset() { delay_ = std::chrono::microseconds(50); }
  void sleep() {
    std::this_thread::sleep_for(delay_);
    delay_ = std::min(delay_ * 2, std::chrono::microseconds(2000));
  }

 private:
  std::chrono::microseconds delay_{50};
};

// Completes a non-blocking request by polling with the back-off above.
inline void wait_for(MPI_Request& request) {
  Backoff backoff;
  int done = 0;
  while (MPI_Test(&request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) backoff.sleep();
}

}  // namespace icl
