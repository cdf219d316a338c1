// Compiled with the core's include paths only (tests/CMakeLists.txt): it must fail,
// because a core file may not include an application header (docs/architecture.md).
#include "strata/tensor.h"
#include "strata/trainer.h"
