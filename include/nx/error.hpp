// The exception every nx function throws on bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace nx {

/// Thrown for invalid arguments: the message names the op, the argument, and what was expected
/// versus what came, e.g. `nx::dot_general: contracting axes of a and b have sizes 3 and 4`.
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace nx
