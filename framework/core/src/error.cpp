#include "strata/error.h"

namespace strata {

namespace {
std::string compose(const std::string& message, const std::string& hint) {
  return hint.empty() ? message : message + "\n  hint: " + hint;
}
}  // namespace

Error::Error(const std::string& message, const std::string& hint)
    : std::runtime_error(compose(message, hint)), message_(message), hint_(hint) {}

// Out-of-line destructors anchor each type's vtable and type_info in libstrata_core, so an
// exception thrown in a plugin and caught in the host is the same type on both sides.
Error::~Error() = default;
ShapeError::~ShapeError() = default;
DTypeError::~DTypeError() = default;
DeviceError::~DeviceError() = default;
ValueError::~ValueError() = default;
AutogradError::~AutogradError() = default;
NotImplementedError::~NotImplementedError() = default;
FileFormatError::~FileFormatError() = default;

}  // namespace strata
