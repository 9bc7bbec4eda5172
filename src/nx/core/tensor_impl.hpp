// The record behind nx::Tensor, and the internal helpers that make tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "nx/tensor.hpp"

namespace nx::detail {

/// A 64-byte aligned block of bytes, uninitialised when made; or a view of memory someone else
/// owns (a compiled function's arena), which it does not free.
class Buffer {
 public:
  /// Owned memory with a fresh content id.
  explicit Buffer(size_t bytes);
  /// Wraps external memory; the owner keeps it alive for as long as this buffer is used.
  /// `content_id` is the id of the owned buffer whose unchanging contents it shows, or 0.
  Buffer(void* external, size_t bytes, uint64_t content_id = 0)
      : data_(external), bytes_(bytes), owned_(false), id_(content_id) {}
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  /// Names the contents: tensors are immutable, so an owned buffer's bytes change after it is
  /// made only when compiled code reuses a donated buffer for a result, which calls renew_id().
  /// Equal nonzero ids mean equal bytes, so kernels may key caches of derived data (a
  /// convolution's reordered weights) on it. 0: unknown or changing contents (arena memory).
  uint64_t id() const { return id_; }
  /// A fresh id, before the contents change.
  void renew_id();

 private:
  void* data_;
  size_t bytes_;
  bool owned_ = true;
  uint64_t id_ = 0;
};

struct TensorImpl {
  TensorType type;
  bool weak = false;
  double weak_value = 0;           ///< a weak float scalar's exact C++ value (stored data is f32)
  std::shared_ptr<Buffer> buffer;  ///< null for a template or a traced tensor
  /// A traced tensor (no buffer) stands for value `value` of the trace with id `trace`
  /// (src/nx/defn/trace.hpp). 0 for a concrete tensor or a template.
  uint64_t trace = 0;
  int32_t value = -1;
};

/// A tensor of the given type with a fresh, uninitialised buffer.
Tensor make_tensor(const TensorType& type);
/// A tensor that shares an existing buffer (reshape, bitcast).
Tensor make_tensor(const TensorType& type, std::shared_ptr<Buffer> buffer);
/// Writable data of a tensor this code just made (never of one a user holds).
inline void* mutable_data(const Tensor& t) {
  return t.impl()->buffer->data();
}
template <class T>
T* mutable_data(const Tensor& t) {
  return static_cast<T*>(mutable_data(t));
}
/// The same tensor without the weak-type mark.
Tensor strong(const Tensor& t);

}  // namespace nx::detail
