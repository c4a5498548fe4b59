// Error types. Bad user input (a model file, a config, a dataset, a command-line argument)
// throws one of the typed errors below with a message that names the file, the place and
// the fix; the CLI's main catches them, prints one line and exits with code 2.
// Broken internal invariants throw InternalError through FG_ASSERT: a bug, never an abort.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace fg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ModelFormatError : public Error {  // malformed or unsupported model file or graph
 public:
  using Error::Error;
};
class ShapeError : public ModelFormatError {  // tensors whose shapes do not fit an op
 public:
  using ModelFormatError::ModelFormatError;
};
class ConfigError : public Error {
 public:
  using Error::Error;
};
class DatasetError : public Error {
 public:
  using Error::Error;
};
class UsageError : public Error {  // bad command-line argument or API call
 public:
  using Error::Error;
};
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}
}  // namespace detail

}  // namespace fg

// FG_CHECK(cond, ErrorType, "message parts", value, ...): user-facing check.
#define FG_CHECK(cond, ErrorType, ...)                               \
  do {                                                               \
    if (!(cond)) throw ErrorType(::fg::detail::concat(__VA_ARGS__)); \
  } while (false)

#define FG_FAIL(ErrorType, ...) throw ErrorType(::fg::detail::concat(__VA_ARGS__))

// FG_ASSERT(cond, "message parts"...): internal invariant; a failure is a faultgraph bug.
#define FG_ASSERT(cond, ...)                                                          \
  do {                                                                                \
    if (!(cond))                                                                      \
      throw ::fg::InternalError(::fg::detail::concat(                                 \
          __FILE__, ":", __LINE__, ": internal error: ", #cond, " ", ##__VA_ARGS__)); \
  } while (false)
