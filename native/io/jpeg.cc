// libjpeg-turbo decoding for the loader's fast path, and the dihedral remap of raw pixels.
#include "io/jpeg.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <vector>

#ifdef FOLDTORCH_WITH_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace foldtorch::io {

void orient_pixels(const uint8_t* in, int height, int width, int channels, const Orientation& orientation,
                   uint8_t* out) {
  const int turns = ((orientation.rot90 % 4) + 4) % 4;
  const int out_height = turns % 2 == 0 ? height : width, out_width = turns % 2 == 0 ? width : height;
  for (int y = 0; y < out_height; ++y) {
    for (int x = 0; x < out_width; ++x) {
      // Walk back from the output pixel: a counter-clockwise quarter turn of an image h rows tall reads (y, x) from
      // (x, h - 1 - y) of the image before it (whose rows and columns are swapped), then the vertical and the
      // horizontal flip.
      int sy = y, sx = x, rows = out_height, cols = out_width;
      for (int t = 0; t < turns; ++t) {
        const int ny = sx;
        sx = rows - 1 - sy;
        sy = ny;
        std::swap(rows, cols);
      }
      if (orientation.vflip) sy = height - 1 - sy;
      if (orientation.hflip) sx = width - 1 - sx;
      std::memcpy(out + (static_cast<size_t>(y) * out_width + x) * channels,
                  in + (static_cast<size_t>(sy) * width + sx) * channels, static_cast<size_t>(channels));
    }
  }
}

#ifdef FOLDTORCH_WITH_TURBOJPEG

namespace {

// True when the markers before the scan hold an EXIF block (APP1 "Exif") or an ICC profile (APP2
// "ICC_PROFILE"), or are malformed: either way the general decoder should take the file.
bool NeedsGeneralDecoder(const uint8_t* bytes, size_t length) {
  size_t at = 2;  // after SOI
  while (at + 4 <= length) {
    if (bytes[at] != 0xFF) return true;
    const uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xDA) return false;  // start of scan: no more metadata segments
    const size_t segment = (static_cast<size_t>(bytes[at + 2]) << 8) | bytes[at + 3];
    if (segment < 2 || at + 2 + segment > length) return true;
    const uint8_t* payload = bytes + at + 4;
    const size_t payload_length = segment - 2;
    if (marker == 0xE1 && payload_length >= 6 && std::memcmp(payload, "Exif\0\0", 6) == 0) return true;
    if (marker == 0xE2 && payload_length >= 12 && std::memcmp(payload, "ICC_PROFILE\0", 12) == 0) return true;
    at += 2 + segment;
  }
  return true;
}

// True for a progressive JPEG whose scans leave some coefficient short of its last bit (a scan missing or cut
// off), or whose markers do not parse: libjpeg smooths the blocks of such a file, and libjpeg-turbo 2.x and
// sharp's mozjpeg smooth differently. False at once for a sequential JPEG.
bool ProgressiveScansIncomplete(const uint8_t* bytes, size_t length) {
  std::map<int, std::array<int, 64>> known;  // component id -> lowest bit received per coefficient (99: none)
  size_t at = 2;
  while (at + 4 <= length && bytes[at + 1] != 0xD9) {
    if (bytes[at] != 0xFF) return true;
    const uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {
      ++at;
      continue;
    }
    const size_t segment = (static_cast<size_t>(bytes[at + 2]) << 8) | bytes[at + 3];
    if (segment < 2 || at + 2 + segment > length) return true;
    const uint8_t* body = bytes + at + 4;
    if (marker == 0xC0 || marker == 0xC1) return false;
    if (marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE) {
      if (segment < 8 || segment < 8 + 3 * static_cast<size_t>(body[5])) return true;
      for (int c = 0; c < body[5]; ++c) known[body[6 + 3 * c]].fill(99);
    }
    at += 2 + segment;
    if (marker != 0xDA) continue;
    const int count = body[0];
    if (known.empty() || segment < 6 + 2 * static_cast<size_t>(count)) return true;
    const uint8_t* spectral = body + 1 + 2 * count;
    const int ss = spectral[0], se = spectral[1], al = spectral[2] & 15;
    for (int c = 0; c < count; ++c) {
      auto found = known.find(body[1 + 2 * c]);
      if (found == known.end() || ss > se || se > 63) return true;
      for (int k = ss; k <= se; ++k) found->second[k] = std::min(found->second[k], al);
    }
    // Past the entropy-coded data: it stuffs each 0xFF with 0x00, and restart markers stay inside it.
    while (at + 1 < length &&
           !(bytes[at] == 0xFF && bytes[at + 1] != 0x00 && (bytes[at + 1] < 0xD0 || bytes[at + 1] > 0xD7)))
      ++at;
  }
  for (const auto& [id, bits] : known) {
    for (int bit : bits) {
      if (bit != 0) return true;
    }
  }
  return false;
}

// One per image, never reused: libjpeg keeps the quantisation and Huffman tables of the image before (for
// abbreviated streams), so a JPEG missing its own would decode with another file's; and a handle that failed
// in the header can refuse every later call. Creating one costs microseconds against a decode's ~0.3 ms.
struct Decompressor {
  tjhandle handle = tjInitDecompress();
  Decompressor() = default;
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  ~Decompressor() {
    if (handle) tjDestroy(handle);
  }
};

}  // namespace

bool jpeg_fast_path_available() { return true; }

bool decode_jpeg_exact(const uint8_t* bytes, size_t length, int height, int width, const Orientation& orientation,
                       uint8_t* out) {
  if (length < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 || height <= 0 || width <= 0) return false;
  if (NeedsGeneralDecoder(bytes, length) || ProgressiveScansIncomplete(bytes, length)) return false;
  const Decompressor decompressor;
  if (!decompressor.handle) return false;
  int file_width = 0, file_height = 0, subsampling = 0, colorspace = 0;
  auto* source = const_cast<unsigned char*>(bytes);
  const auto jpeg_length = static_cast<unsigned long>(length);
  if (tjDecompressHeader3(decompressor.handle, source, jpeg_length, &file_width, &file_height, &subsampling,
                          &colorspace) != 0)
    return false;
  if (file_width != width || file_height != height || colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) return false;
  const bool identity = !orientation.hflip && !orientation.vflip && orientation.rot90 % 4 == 0;
  std::vector<uint8_t> decoded(identity ? 0 : static_cast<size_t>(height) * width * 3);
  uint8_t* target = identity ? out : decoded.data();
  // Stop on warnings too: libjpeg-turbo only warns about a truncated file, which sharp refuses.
  if (tjDecompress2(decompressor.handle, source, jpeg_length, target, width, 0, height, TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0)
    return false;
  if (!identity) orient_pixels(decoded.data(), height, width, 3, orientation, out);
  return true;
}

#else

bool jpeg_fast_path_available() { return false; }

bool decode_jpeg_exact(const uint8_t*, size_t, int, int, const Orientation&, uint8_t*) { return false; }

#endif

}  // namespace foldtorch::io
