#pragma once
// One writer per run or sweep folder. A FolderLock holds an OS lock (flock) on
// FOLDER/.strata-lock for its lifetime; the operating system releases it however the
// process ends (exit, exception, SIGKILL), so a stale lock never blocks a later run. A
// second process that tries to lock the folder gets FolderBusyError, naming the process
// that holds it (its pid, host and start time, written into the lock file).
//
//   FolderLock lock("runs/x");   // throws FolderBusyError while another strata writes runs/x
#include <filesystem>

#include "strata/error.h"

namespace strata {

inline constexpr const char* kFolderLockFile = ".strata-lock";

// Another process is writing the folder (bad input: two runs given the same --out).
class FolderBusyError : public Error {
 public:
  using Error::Error;
  ~FolderBusyError() override;
};

class FolderLock {
 public:
  // Locks `folder` (which must exist). Error when the lock file cannot be created.
  explicit FolderLock(const std::filesystem::path& folder);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace strata
