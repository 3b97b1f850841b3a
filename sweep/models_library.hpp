#pragma once
#include "sampled_training.hpp"

namespace icl {

// The sampled models' entry points from libicl_models.so, loaded (with libtorch) on the first
// call and kept for the life of the process: beside the program (build/libicl_models.so), else
// where the build put it. Throws std::runtime_error naming both places when it cannot be loaded.
const ModelsApi& models_library();

}  // namespace icl
