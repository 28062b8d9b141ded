// The loader's fast path: a JPEG already at the model's size decoded by libjpeg-turbo straight into RGB, and the
// flips / quarter turns of an augmentation plan applied to raw RGB. sharp costs ~0.25 ms a call whatever the
// image size, more than decoding a 128×128 JPEG does; everything this path declines goes to sharp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace foldtorch::io {

// albumentations' order: HorizontalFlip, then VerticalFlip, then RandomRotate90 (k counter-clockwise quarter
// turns, as np.rot90).
struct Orientation {
  bool hflip = false;
  bool vflip = false;
  int rot90 = 0;
};

// Whether the addon was built with libjpeg-turbo (turbojpeg.h found at build time).
bool jpeg_fast_path_available();

// Decodes `bytes` into `size`×`size`×3 RGB at `out` (row-major HWC) with `orientation` applied. Returns false,
// leaving `out` unspecified, when the file is not for this path: not a JPEG, not exactly size×size, CMYK/YCCK,
// an EXIF block (it may rotate the image) or an ICC profile (sharp converts with it), or any libjpeg-turbo error
// or warning (a truncated file). The caller then decodes it the general way, which also words its errors.
bool decode_jpeg_exact(const uint8_t* bytes, size_t length, int size, const Orientation& orientation, uint8_t* out);

// out = `orientation` applied to `in`, both size×size×channels (row-major HWC, distinct buffers).
void orient_pixels(const uint8_t* in, int size, int channels, const Orientation& orientation, uint8_t* out);

}  // namespace foldtorch::io
