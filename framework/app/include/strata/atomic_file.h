#pragma once
// Writing a file so that readers see either the old file or the whole new one, never a
// half-written one (a killed process, a full disk): write a temporary file in the same
// folder, flush it, then rename it over the target.
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace strata {

// Calls write(out) on a temporary file next to `file`, then renames it to `file`. Throws
// Error naming the file when it cannot be written; the temporary is removed on failure.
void write_file_atomically(const std::filesystem::path& file, const std::function<void(std::ostream&)>& write);
void write_text_atomically(const std::filesystem::path& file, const std::string& text);

}  // namespace strata
