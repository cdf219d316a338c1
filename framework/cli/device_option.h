#pragma once
// --device of the commands that run on a chosen device (generate, eval, check): cpu, cuda or cuda:N.
#include <string>

#include "strata/device.h"

namespace strata::cli {

// `text` as a Device this machine has; a UsageError naming --device otherwise.
Device device_option(const std::string& text);

}  // namespace strata::cli
