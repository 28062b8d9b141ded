// safetensors reading (every length, offset and size checked before use) and atomic writing.
#include "io/safetensors.h"

#include <ATen/ops/empty.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "io/json.h"

namespace foldtorch::io {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;  // the format's own limit

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  uint64_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::ScalarType::Double, 8},    {"F32", at::ScalarType::Float, 4}, {"F16", at::ScalarType::Half, 2},
    {"BF16", at::ScalarType::BFloat16, 2}, {"I64", at::ScalarType::Long, 8},  {"I32", at::ScalarType::Int, 4},
    {"I16", at::ScalarType::Short, 2},     {"I8", at::ScalarType::Char, 1},   {"U8", at::ScalarType::Byte, 1},
    {"BOOL", at::ScalarType::Bool, 1},
};

const DtypeInfo* FindDtype(const std::string& name) {
  for (const auto& info : kDtypes) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("safetensors: " + what + " in " + path);
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

void ReadExactly(int fd, void* out, uint64_t size, uint64_t offset, const std::string& path) {
  auto* bytes = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t got =
        ::pread(fd, bytes, static_cast<size_t>(std::min<uint64_t>(size, 1u << 30)), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) Fail(path, got == 0 ? "unexpected end of file" : std::string("read error: ") + std::strerror(errno));
    bytes += got;
    size -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PyTorch's own formats: a zip archive (torch.save since 1.6) or a raw pickle stream (protocol 2-5); a file
// named .pth/.bin/... is refused too unless its first bytes are a plausible safetensors header.
bool LooksLikePickle(const std::string& path, const unsigned char* head, size_t length, uint64_t size) {
  if (length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return true;
  if (length >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return true;
  uint64_t header_length = 0;
  for (int i = 7; i >= 0 && length >= 8; --i) header_length = (header_length << 8) | head[i];
  const bool plausible = length >= 9 && header_length <= size - 8 && head[8] == '{';
  for (const char* ext : {".pth", ".pt", ".bin", ".pkl", ".ckpt", ".tar"}) {
    if (EndsWith(path, ext) && !plausible) return true;
  }
  return false;
}

[[noreturn]] void RefusePickle(const std::string& path) {
  throw std::runtime_error(
      "safetensors: " + path +
      " is a PyTorch pickle checkpoint; foldtorch only reads .safetensors (unpickling can run arbitrary code). "
      "Convert it once where you trust the file: python -c \"import torch; from safetensors.torch import save_file; "
      "sd = torch.load('" +
      path +
      "', map_location='cpu', weights_only=True); sd = sd.get('state_dict', sd); "
      "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')\"");
}

uint64_t RequireUint(const JsonValue& value, const std::string& path, const std::string& what) {
  uint64_t out = 0;
  if (!value.as_uint64(&out)) Fail(path, "expected a non-negative integer for " + what);
  return out;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("safetensors: cannot open " + path + ": " + std::strerror(errno));
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile(path, fd));
  struct stat st {};
  if (::fstat(fd, &st) != 0) Fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) Fail(path, "not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char head[9] = {0};
  const size_t head_length = static_cast<size_t>(std::min<uint64_t>(size, 9));
  if (head_length > 0) ReadExactly(fd, head, head_length, 0, path);
  if (LooksLikePickle(path, head, head_length, size)) RefusePickle(path);
  if (size < 8) Fail(path, "file too short for a header (got " + std::to_string(size) + " bytes)");
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | head[i];
  if (header_length > size - 8) {
    Fail(path, "header length " + std::to_string(header_length) + " runs past the end of the file (got " +
                   std::to_string(size) + " bytes)");
  }
  if (header_length > kMaxHeaderBytes) Fail(path, "header length " + std::to_string(header_length) + " exceeds 100 MB");
  if (header_length < 2) Fail(path, "header too short to hold JSON (got " + std::to_string(header_length) + " bytes)");
  std::string json(static_cast<size_t>(header_length), '\0');
  ReadExactly(fd, json.data(), header_length, 8, path);
  file->data_start_ = 8 + header_length;
  file->parse_header(json.data(), json.size(), size - file->data_start_);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsFile::parse_header(const char* json, size_t length, uint64_t data_size) {
  JsonValue root;
  try {
    root = ParseJson(json, length);
  } catch (const std::runtime_error& e) {
    Fail(path_, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!root.is_object()) Fail(path_, "header is not a JSON object");
  for (const auto& [name, value] : root.members()) {
    if (name == "__metadata__") {
      if (!value.is_object()) Fail(path_, "__metadata__ is not an object");
      for (const auto& [key, text] : value.members()) {
        if (!text.is_string()) Fail(path_, "__metadata__ value for '" + key + "' is not a string");
        metadata_[key] = text.as_string();
      }
      continue;
    }
    if (!value.is_object()) Fail(path_, "entry for '" + name + "' is not an object");
    const JsonValue* dtype = value.find("dtype");
    const JsonValue* shape = value.find("shape");
    const JsonValue* offsets = value.find("data_offsets");
    if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array()) {
      Fail(path_, "entry for '" + name + "' needs dtype (string), shape (array) and data_offsets (array)");
    }
    const DtypeInfo* info = FindDtype(dtype->as_string());
    if (!info) Fail(path_, "unknown dtype for '" + name + "' (got " + dtype->as_string() + ")");
    TensorEntry entry{name, info->name, info->type, {}, 0, 0};
    uint64_t numel = 1;
    for (const auto& dim : shape->items()) {
      const uint64_t d = RequireUint(dim, path_, "a dimension of '" + name + "'");
      if (d > (1ull << 62) || (d != 0 && numel > (1ull << 62) / d)) Fail(path_, "shape of '" + name + "' is too large");
      numel *= d;
      entry.shape.push_back(static_cast<int64_t>(d));
    }
    if (offsets->items().size() != 2) Fail(path_, "data_offsets of '" + name + "' must have two entries");
    entry.begin = RequireUint(offsets->items()[0], path_, "data_offsets of '" + name + "'");
    entry.end = RequireUint(offsets->items()[1], path_, "data_offsets of '" + name + "'");
    if (entry.begin > entry.end || entry.end > data_size) {
      Fail(path_, "data_offsets of '" + name + "' out of range (got [" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "], data holds " + std::to_string(data_size) + " bytes)");
    }
    if (numel > (1ull << 62) / info->bytes || entry.end - entry.begin != numel * info->bytes) {
      Fail(path_, "'" + name + "' of dtype " + info->name + " and shape " + ShapeText(entry.shape) + " needs " +
                      std::to_string(numel * info->bytes) + " bytes (got " + std::to_string(entry.end - entry.begin) +
                      ")");
    }
    entries_.push_back(std::move(entry));
  }
  // Overlap check on byte ranges sorted by start, each against the furthest-reaching range before it (not only its
  // neighbour: an empty tensor or a short one between two overlapping tensors must not hide them). An empty
  // tensor may sit where another ends or starts, never strictly inside one: no writer puts it there.
  std::vector<const TensorEntry*> by_offset;
  for (const auto& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
  const TensorEntry* furthest = nullptr;
  for (const auto* current : by_offset) {
    if (furthest != nullptr && current->begin < furthest->end) {
      Fail(path_, "tensors '" + furthest->name + "' and '" + current->name + "' overlap (got [" +
                      std::to_string(furthest->begin) + ", " + std::to_string(furthest->end) + "] and [" +
                      std::to_string(current->begin) + ", " + std::to_string(current->end) + "])");
    }
    if (furthest == nullptr || current->end > furthest->end) furthest = current;
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  auto found = index_.find(name);
  if (found == index_.end()) Fail(path_, "no tensor named '" + name + "'");
  return entries_[found->second];
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorEntry& e = entry(name);
  at::Tensor out = at::empty(e.shape, at::TensorOptions().dtype(e.scalar_type));
  if (e.end > e.begin) ReadExactly(fd_, out.data_ptr(), e.end - e.begin, data_start_ + e.begin, path_);
  return out;
}

std::string safetensors_dtype_name(at::ScalarType type) {
  for (const auto& info : kDtypes) {
    if (info.type == type) return info.name;
  }
  throw std::runtime_error(std::string("safetensors: cannot store dtype ") + c10::toString(type));
}

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t wrote = ::write(fd, bytes, std::min<size_t>(size, 1u << 30));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    bytes += wrote;
    size -= static_cast<size_t>(wrote);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  try {
    write(fd);
    if (::fsync(fd) != 0) throw std::runtime_error("cannot fsync " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + reason);
  }
  // The rename is durable only once the folder entry is on disk.
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  NamedTensors sorted;
  for (const auto& [name, tensor] : tensors) {
    TORCH_CHECK(tensor.defined(), "safetensors: tensor '", name, "' is undefined (writing ", path, ")");
    sorted.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first == sorted[i - 1].first)
      throw std::runtime_error("safetensors: duplicate tensor name '" + sorted[i].first + "' (writing " + path + ")");
  }
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      header += (first ? "" : ",") + JsonQuote(key) + ":" + JsonQuote(value);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const at::Tensor& t = sorted[i].second;
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header += (i == 0 && metadata.empty() ? "" : ",") + JsonQuote(sorted[i].first) + ":{\"dtype\":\"" +
              safetensors_dtype_name(t.scalar_type()) + "\",\"shape\":" + ShapeText(t.sizes().vec()) +
              ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  write_file_atomically(path, [&](int fd) {
    unsigned char length[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i, n >>= 8) length[i] = static_cast<unsigned char>(n & 0xFF);
    write_all(fd, length, 8, path);
    write_all(fd, header.data(), header.size(), path);
    for (const auto& [name, t] : sorted) {
      if (t.numel() > 0) write_all(fd, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size(), path);
    }
  });
}

NamedTensors load_safetensors(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  NamedTensors out;
  for (const auto& e : file->entries()) out.emplace_back(e.name, file->tensor(e.name));
  return out;
}

}  // namespace foldtorch::io
