// Compiled with the core's include paths only: every header a plugin may include builds.
#include "strata/components.h"
#include "strata/nn.h"
#include "strata/ops.h"
#include "strata/plugin.h"
#include "strata/registry.h"
#include "strata/testing/component_check.h"
#include "strata/testing/gradcheck.h"
