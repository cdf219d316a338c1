#pragma once
// --device of the commands that load a checkpoint (generate, eval): cpu, cuda or cuda:N.
#include <string>

#include "strata/device.h"

namespace strata::cli {

// `text` as a Device this machine has; a UsageError naming --device otherwise.
Device device_option(const std::string& text);

}  // namespace strata::cli
