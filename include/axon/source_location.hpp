// axon::SourceLocation: where a model node was built, for error messages. It is
// std::source_location's interface, built on the compiler builtins that GCC and Clang share,
// because Clang 14 with libstdc++ 12 (Debian 12) has no std::source_location.
#pragma once

namespace axon {

/// A file name and line; `SourceLocation::current()` as a default argument gives the caller's.
class SourceLocation {
 public:
  /// The location of the call (of the outermost call when used as a default argument).
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE()) noexcept {
    SourceLocation s;
    s.file_ = file;
    s.line_ = line;
    return s;
  }
  /// The source file's name as the compiler saw it.
  constexpr const char* file_name() const noexcept { return file_; }
  /// The line number (1-based; 0 when unknown).
  constexpr unsigned line() const noexcept { return line_; }

 private:
  const char* file_ = "";
  unsigned line_ = 0;
};

}  // namespace axon
