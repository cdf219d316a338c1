#include "cli/device_option.h"

#include "cli/token_input.h"  // UsageError

namespace strata::cli {

Device device_option(const std::string& text) {
  try {
    const Device device = parse_device(text);
    check_available(device);
    return device;
  } catch (const Error& bad) {
    throw UsageError("--device " + text + ": " + bad.message(), "give cpu, cuda or cuda:N for a GPU this machine has");
  }
}

}  // namespace strata::cli
