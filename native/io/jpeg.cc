// libjpeg-turbo decoding for the loader's fast path, and the dihedral remap of raw pixels.
#include "io/jpeg.h"

#include <cstring>
#include <vector>

#ifdef FOLDTORCH_WITH_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace foldtorch::io {

void orient_pixels(const uint8_t* in, int size, int channels, const Orientation& orientation, uint8_t* out) {
  const int last = size - 1;
  const int turns = ((orientation.rot90 % 4) + 4) % 4;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      // Walk back from the output pixel: each counter-clockwise quarter turn reads (y, x) from (x, last - y),
      // then the vertical and the horizontal flip.
      int sy = y, sx = x;
      for (int t = 0; t < turns; ++t) {
        const int ny = sx;
        sx = last - sy;
        sy = ny;
      }
      if (orientation.vflip) sy = last - sy;
      if (orientation.hflip) sx = last - sx;
      std::memcpy(out + (static_cast<size_t>(y) * size + x) * channels, in + (static_cast<size_t>(sy) * size + sx) * channels,
                  static_cast<size_t>(channels));
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

bool decode_jpeg_exact(const uint8_t* bytes, size_t length, int size, const Orientation& orientation, uint8_t* out) {
  if (length < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 || size <= 0) return false;
  if (NeedsGeneralDecoder(bytes, length)) return false;
  const Decompressor decompressor;
  if (!decompressor.handle) return false;
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  auto* source = const_cast<unsigned char*>(bytes);
  const auto jpeg_length = static_cast<unsigned long>(length);
  if (tjDecompressHeader3(decompressor.handle, source, jpeg_length, &width, &height, &subsampling, &colorspace) != 0) return false;
  if (width != size || height != size || colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) return false;
  const bool identity = !orientation.hflip && !orientation.vflip && orientation.rot90 % 4 == 0;
  std::vector<uint8_t> decoded(identity ? 0 : static_cast<size_t>(size) * size * 3);
  uint8_t* target = identity ? out : decoded.data();
  // Stop on warnings too: libjpeg-turbo only warns about a truncated file, which sharp refuses.
  if (tjDecompress2(decompressor.handle, source, jpeg_length, target, size, 0, size, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) return false;
  if (!identity) orient_pixels(decoded.data(), size, 3, orientation, out);
  return true;
}

#else

bool jpeg_fast_path_available() { return false; }

bool decode_jpeg_exact(const uint8_t*, size_t, int, const Orientation&, uint8_t*) { return false; }

#endif

}  // namespace foldtorch::io
