#include "strata/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>

#include "strata/error.h"

namespace strata {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& file, const std::function<void(std::ostream&)>& write) {
  // The pid keeps two processes writing the same target from sharing a temporary.
  const fs::path temp = file.string() + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    return Error("cannot write " + file.string() + ": " + why, "check that the folder exists, is writable and has space");
  };
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw fail("cannot create " + temp.string());
    try {
      write(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw;
    }
    errno = 0;
    out.flush();
    if (!out) throw fail(errno != 0 ? std::strerror(errno) : "write failed");
    out.close();
    if (!out) throw fail(errno != 0 ? std::strerror(errno) : "closing it failed");
  }
  // On disk before the rename, so a power loss leaves the old file or the whole new one.
  if (const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    const bool synced = ::fsync(fd) == 0 || errno == EINVAL;  // EINVAL: a file system without fsync
    const int error = errno;
    ::close(fd);
    if (!synced) throw fail(std::strerror(error));
  }
  std::error_code ec;
  fs::rename(temp, file, ec);
  if (ec) throw fail(ec.message());
}

void write_text_atomically(const fs::path& file, const std::string& text) {
  write_file_atomically(file, [&](std::ostream& out) { out << text; });
}

}  // namespace strata
