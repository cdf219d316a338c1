// strata compare: runs and sweeps that were not one sweep (other days, files, machines)
// compared as variants over their seeds: a ranked table and which differences exceed
// seed noise on the terminal, the full comparison as one HTML page (strata/compare.h).
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/token_input.h"
#include "strata/compare.h"

namespace strata::cli {

namespace fs = std::filesystem;

int compare_command(const CompareOptions& options) {
  std::vector<fs::path> paths(options.folders.begin(), options.folders.end());
  const std::vector<fs::path> runs = runs_to_compare(paths);
  const fs::path out = options.out.empty() ? fs::path("comparison.html") : fs::path(options.out);
  std::error_code ec;
  if (fs::is_directory(out, ec))
    throw UsageError("--out " + out.string() + " is a folder", "name the HTML file to write, e.g. --out comparison.html");
  const ComparisonSummary summary = compare_runs_and_report(runs, out, terminal_columns(STDOUT_FILENO));
  std::cout << summary.table << "\n";
  for (const std::string& s : summary.statements) std::cout << s << "\n";
  if (summary.table.find(" *") != std::string::npos) std::cout << "(*: differs from the reference beyond seed noise, as stated above)\n";
  for (const std::string& n : summary.notes) std::cerr << "note: " << n << "\n";
  std::cout << "report: " << out.string() << "\n";
  return kOk;
}

}  // namespace strata::cli
