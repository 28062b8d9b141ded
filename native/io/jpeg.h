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

// Decodes `bytes`, a JPEG of exactly `height`×`width`, into RGB at `out` (row-major HWC) with `orientation`
// applied: `out` holds height×width×3 bytes, laid out width×height after an odd number of quarter turns.
// Returns false, leaving `out` unspecified, when the file is not for this path: not a JPEG, another size, CMYK/YCCK,
// an EXIF block (it may rotate the image) or an ICC profile (sharp converts with it), or any libjpeg-turbo error
// or warning (a truncated file). The caller then decodes it the general way, which also words its errors.
bool decode_jpeg_exact(const uint8_t* bytes, size_t length, int height, int width, const Orientation& orientation,
                       uint8_t* out);

// out = `orientation` applied to `in` (height×width×channels, row-major HWC; distinct buffers). An odd number of
// quarter turns makes `out` width×height, as np.rot90 does.
void orient_pixels(const uint8_t* in, int height, int width, int channels, const Orientation& orientation,
                   uint8_t* out);

}  // namespace foldtorch::io
