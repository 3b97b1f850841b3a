#pragma once
// A stop asked for from outside the core (a signal, a deadline, another rank): the long
// computations (the flow's steps, Monte-Carlo prompts, training steps) poll it and unwind by
// throwing Cancelled; the caller decides what an abandoned computation means.
#include <exception>

namespace icl {

using CancelCheck = bool (*)();

struct Cancelled : std::exception {
  const char* what() const noexcept override { return "cancelled by a stop"; }
};

inline void throw_if_cancelled(CancelCheck cancelled) {
  if (cancelled != nullptr && cancelled()) throw Cancelled();
}

}  // namespace icl
