#pragma once
// A run's outcome as final.json holds it, and back: the run folder's record (run.cpp) and
// what a sweep's ranks send the rank that writes the summaries (sweep_run.cpp).
#include <nlohmann/json.hpp>

#include "strata/run.h"

namespace strata {

nlohmann::json outcome_json(const RunOutcome& outcome);
// The inverse of outcome_json (nlohmann::json::exception for a document it did not write).
RunOutcome outcome_from_json(const nlohmann::json& j);

}  // namespace strata
