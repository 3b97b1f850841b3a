#pragma once
#include "models_api.hpp"

namespace icl {

// The sampled models' entry points (models_api.hpp) from libicl_models.so, loaded (with libtorch)
// on the first call and kept for the life of the process: beside the program
// (build/libicl_models.so), else where the build put it. Throws EnvironmentError naming both
// places when it cannot be loaded. A call models_library().train_sampled(...) runs
// icl::train_sampled of models/trainer.cpp.
const ModelsApi& models_library();

}  // namespace icl
