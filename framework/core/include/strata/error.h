#pragma once
// The framework's exception types. Every error says what went wrong and where
// (op, argument, shapes, file:line:col for configs) and, where one exists, a hint
// saying what to do. Library code throws these; it never exits or aborts on bad input.
#include <stdexcept>
#include <string>

namespace strata {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, const std::string& hint = {});
  ~Error() override;

  const std::string& message() const noexcept { return message_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string message_;
  std::string hint_;
};

// Shapes that do not fit an op (mismatch, wrong rank, bad dim).
class ShapeError : public Error {
 public:
  using Error::Error;
  ~ShapeError() override;
};

// A dtype an op does not accept, or two inputs with different dtypes.
class DTypeError : public Error {
 public:
  using Error::Error;
  ~DTypeError() override;
};

// Tensors on different devices, or a device this build or machine does not have.
class DeviceError : public Error {
 public:
  using Error::Error;
  ~DeviceError() override;
};

// A bad argument value: an index out of range, k > n, a negative size, ...
class ValueError : public Error {
 public:
  using Error::Error;
  ~ValueError() override;
};

// Misuse of the autograd tape: backward twice, backward of a non-scalar, in-place
// modification of a tensor saved for backward, ...
class AutogradError : public Error {
 public:
  using Error::Error;
  ~AutogradError() override;
};

// A valid request this build cannot serve yet (e.g. an op without a CUDA kernel).
class NotImplementedError : public Error {
 public:
  using Error::Error;
  ~NotImplementedError() override;
};

// A file whose contents are malformed or do not fit: a truncated or corrupt safetensors
// file, a checkpoint that does not match its model, a Hugging Face config without a key.
// The message names the file (and the tensor or key) and says what to do.
class FileFormatError : public Error {
 public:
  using Error::Error;
  ~FileFormatError() override;
};

}  // namespace strata
