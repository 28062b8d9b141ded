// safetensors checkpoints: a bounds-checked reader (pread, nothing allocated before the header is validated)
// and an atomic writer (tmp file + fsync + rename), shared by model loading and training checkpoints.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace foldtorch::io {

struct TensorEntry {
  std::string name;
  std::string dtype;  // "F32", "BF16", ...
  at::ScalarType scalar_type = at::ScalarType::Float;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the end of the header
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Opens and validates the whole header against the file size. Throws std::runtime_error naming the file for
  // pickle checkpoints (with the conversion command), truncation, bad JSON, unknown dtypes, offsets out of range
  // or overlapping, and byte sizes that disagree with shapes.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Entries sorted by name.
  const std::vector<TensorEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const TensorEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Where tensor data begins: entries' offsets are relative to it.
  uint64_t data_start() const { return data_start_; }

  // An owned CPU tensor in the stored dtype (read with pread; the file may be larger than memory in total).
  at::Tensor tensor(const std::string& name) const;

 private:
  SafetensorsFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void parse_header(const char* json, size_t length, uint64_t data_size);

  std::string path_;
  int fd_ = -1;
  uint64_t data_start_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes tensors (any device, any layout: copied to contiguous CPU) atomically. Names must be unique.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of a file (convenience for small files).
NamedTensors load_safetensors(const std::string& path);

// Writes a file through `write(fd)` into a temporary sibling, fsyncs it, renames it over `path` and fsyncs the
// folder, so a crash leaves either the old file or the new one, never a torn one.
void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write);
// write(2) until done; throws with the path on failure.
void write_all(int fd, const void* data, size_t size, const std::string& path);

// "F32" etc. for a scalar type; throws for types safetensors cannot hold.
std::string safetensors_dtype_name(at::ScalarType type);

}  // namespace foldtorch::io
