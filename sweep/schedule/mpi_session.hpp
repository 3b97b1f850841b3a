#pragma once
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace icl {

// Whether a launcher started this process as one rank of a job (mpirun/mpiexec of Open MPI or
// of MPICH's Hydra, srun with PMI or PMIx). A process started alone runs without MPI at all:
// an MPI singleton's start-up costs a third of a second or more, more than a small sweep.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

// Whether MPI runs in this process (false for a process started alone).
inline bool mpi_running() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised != 0 && finalised == 0;
}

// Ends the whole job now with `status`, without waiting for any rank or thread: MPI_Abort under
// MPI (its code is mpiexec's status), else the process's own exit.
[[noreturn]] inline void end_job(int status) {
  std::fflush(stderr);
  std::fflush(stdout);
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);
}

// MPI for the lifetime of the object, when the process was launched as part of an MPI job; else
// rank 0 of 1 without MPI. Only the main thread calls MPI (rank 0's compute thread never
// does), so MPI_THREAD_FUNNELED is enough.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    if (!launched_by_mpi()) return;
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    active_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // The ranks that share this node's memory: this rank's index among them picks its GPU.
    MPI_Comm node = MPI_COMM_NULL;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node) == MPI_SUCCESS &&
        node != MPI_COMM_NULL) {
      MPI_Comm_rank(node, &local_rank_);
      MPI_Comm_free(&node);
    }
    if (provided < MPI_THREAD_FUNNELED) {
      std::fprintf(stderr, "icl-sweep: this MPI library does not allow a computing thread beside MPI\n");
      end_job(1);
    }
  }
  ~MpiSession() {
    if (active_) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks of this node

 private:
  bool active_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
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

// Rank 0 decides, every rank learns the outcome, so that all exit with the same status.
// A waiting rank polls instead of spinning in MPI_Bcast: it may wait for a whole sweep's tail.
inline int agree(int status) {
  if (!mpi_running()) return status;  // one process
  MPI_Request request;
  MPI_Ibcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return status;
}

// Rank 0's text reaches every rank: only rank 0 reads the config and its input files, so that
// all ranks run exactly the same sweep even where the files differ, or are missing, elsewhere.
inline std::string share(std::string text) {
  if (!mpi_running()) return text;  // one process
  auto size = static_cast<std::uint64_t>(text.size());
  MPI_Request request;
  MPI_Ibcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  text.resize(size);
  MPI_Ibcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return text;
}

// Every rank's text reaches rank 0, in rank order (elsewhere: empty).
inline std::vector<std::string> gather(const std::string& text) {
  if (!mpi_running()) return {text};
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank == 0 ? size : 0), offsets(lengths.size());
  MPI_Request request;
  MPI_Igather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  std::string all;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = static_cast<int>(all.size());
    all.resize(all.size() + static_cast<std::size_t>(lengths[r]));
  }
  MPI_Igatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD,
               &request);
  wait_for(request);
  std::vector<std::string> texts;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    texts.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
  return texts;
}

}  // namespace icl
