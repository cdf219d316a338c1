#include "strata/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace strata {

FolderBusyError::~FolderBusyError() = default;

namespace {

std::string read_all(int fd) {
  std::string text;
  char buffer[256];
  if (lseek(fd, 0, SEEK_SET) != 0) return text;
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0 && text.size() < 4096;) text.append(buffer, std::size_t(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string holder_description() {
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  return "pid " + std::to_string(getpid()) + " on " + host + ", since " + stamp;
}

}  // namespace

FolderLock::FolderLock(const std::filesystem::path& folder) {
  const std::filesystem::path file = folder / kFolderLockFile;
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error("cannot create the lock file " + file.string() + ": " + std::strerror(errno),
                "check that the folder exists and is writable");
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw FolderBusyError(folder.string() + " is being written by another strata process" +
                                (holder.empty() ? std::string() : " (" + holder + ")"),
                            "wait for it to finish, or give this run another folder (--out)");
    throw Error("cannot lock " + file.string() + ": " + std::strerror(error));
  }
  // Who holds it, for the message a second writer gets. Best effort: the lock is what counts.
  const std::string text = holder_description() + "\n";
  if (ftruncate(fd_, 0) == 0) (void)!pwrite(fd_, text.data(), text.size(), 0);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace strata
