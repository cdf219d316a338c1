#pragma once
// Framework-internal: the training-state files of a checkpoint (checkpoint.h).
#include <filesystem>

#include "strata/model.h"
#include "strata/trainer.h"

namespace strata {

// Writes optimizer.safetensors and state.json into `folder`.
void save_training_state(const std::filesystem::path& folder, const TrainingState& state, const Model& model);

}  // namespace strata
