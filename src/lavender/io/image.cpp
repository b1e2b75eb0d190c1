#include "lavender/io/image.h"

// libpng and libjpeg report errors by longjmp. Each decoder keeps its C++ objects outside the
// setjmp frame's lifetime issues: buffers are declared before setjmp and only written after it.
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "lavender/io/json_file.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::io {
namespace {

void check_dimensions(int64_t width, int64_t height, const std::string& source) {
  if (width <= 0 || height <= 0 || width * height > kMaxImagePixels)
    throw Error(source + ": image size " + std::to_string(width) + "x" + std::to_string(height) +
                " is empty or too large");
}

// PIL's RGB → L: L = R·299/1000 + G·587/1000 + B·114/1000 (rounded as PIL does).
Image to_grey(const Image& rgb) {
  Image grey{rgb.width, rgb.height, 1, {}};
  grey.pixels.resize(static_cast<size_t>(rgb.width) * rgb.height);
  for (size_t i = 0; i < grey.pixels.size(); ++i) {
    const uint8_t* p = &rgb.pixels[3 * i];
    grey.pixels[i] =
        static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return grey;
}

// ---- PNG -----------------------------------------------------------------------------------

struct PngSource {
  const uint8_t* data;
  size_t size;
  size_t offset;
};

struct PngError {
  char message[256];
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > src->size - src->offset) png_error(png, "file is truncated");
  std::memcpy(out, src->data + src->offset, length);
  src->offset += length;
}

void png_on_error(png_structp png, png_const_charp message) {
  auto* err = static_cast<PngError*>(png_get_error_ptr(png));
  std::snprintf(err->message, sizeof err->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

Image decode_png(const uint8_t* data, size_t size, const std::string& source) {
  PngError err{"unknown error"};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw Error(source + ": out of memory starting the PNG decoder");
  }
  PngSource src{data, size, 0};
  // State written after setjmp lives behind a pointer fixed before it, so a longjmp back here
  // never sees a stale copy of it (C's rule for locals modified between setjmp and longjmp).
  struct State {
    Image image;
    std::vector<png_bytep> rows;
  };
  auto state = std::make_unique<State>();
  Image& image = state->image;
  volatile bool too_large = false;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error(source + ": invalid PNG: " + err.message);
  }
  png_set_read_fn(png, &src, png_read_from_memory);
  png_set_user_limits(png, 1 << 16, 1 << 16);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info),
                    height = png_get_image_height(png, info);
  too_large = static_cast<int64_t>(width) * height > kMaxImagePixels;
  if (!too_large) {
    // Everything to 8-bit RGB, dropping alpha like PIL's convert("RGB").
    png_set_expand(png);  // palette → RGB, grey < 8 bit → 8 bit, tRNS → alpha
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3) png_error(png, "unexpected channel layout");
    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);
    image.channels = 3;
    image.pixels.resize(static_cast<size_t>(width) * height * 3);
    state->rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) state->rows[y] = image.row(static_cast<int>(y));
    png_read_image(png, state->rows.data());
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (too_large) check_dimensions(width, height, source);
  return std::move(image);
}

void png_write_to_string(png_structp png, png_bytep data, png_size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), length);
}

void png_flush_noop(png_structp) {}

// ---- JPEG ----------------------------------------------------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_silence(j_common_ptr, int) {}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& source) {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_silence;
  auto holder = std::make_unique<Image>();  // see decode_png on state across setjmp
  Image& image = *holder;
  const char* volatile problem = nullptr;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw Error(source + ": invalid JPEG: " + (problem ? problem : err.message));
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > kMaxImagePixels) {
    problem = "image too large";
    std::longjmp(err.jump, 1);
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    problem = "CMYK JPEGs are not supported (convert to RGB first)";
    std::longjmp(err.jump, 1);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  image.width = static_cast<int>(cinfo.output_width);
  image.height = static_cast<int>(cinfo.output_height);
  image.channels = 3;
  image.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.row(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return std::move(image);
}

void check_encodable(const Image& image, const char* what) {
  if ((image.channels != 1 && image.channels != 3) || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw Error(std::string(what) +
                ": image must be 1 or 3 channels with width×height×channels "
                "pixels");
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& source) {
  static const uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return decode_png(data, size, source);
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    return decode_jpeg(data, size, source);
  throw Error(source + ": not a PNG or JPEG image");
}

Image read_image(const std::string& path) {
  std::string bytes = read_text_file(path);
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

Image decode_grey(const uint8_t* data, size_t size, const std::string& source) {
  return to_grey(decode_image(data, size, source));
}

Image read_grey_image(const std::string& path) {
  std::string bytes = read_text_file(path);
  return decode_grey(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::string encode_png(const Image& image) {
  check_encodable(image, "encode_png");
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw Error("encode_png: out of memory");
  }
  auto rows = std::make_unique<std::vector<png_bytep>>(static_cast<size_t>(image.height));
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error("encode_png: libpng failed");
  }
  png_set_write_fn(png, &out, png_write_to_string, png_flush_noop);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), 8,
               image.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y)
    (*rows)[static_cast<size_t>(y)] = const_cast<uint8_t*>(image.row(y));
  png_write_image(png, rows->data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string encode_jpeg(const Image& image, int quality) {
  check_encodable(image, "encode_jpeg");
  if (quality < 1 || quality > 100) throw Error("encode_jpeg: quality must be 1..100");
  jpeg_compress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  // jpeg_mem_dest writes these through their addresses: stable storage across setjmp.
  auto dest = std::make_unique<std::pair<unsigned char*, unsigned long>>(nullptr, 0);
  unsigned char*& buffer = dest->first;
  unsigned long& length = dest->second;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    throw Error(std::string("encode_jpeg: ") + err.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &length);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.row(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), length);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

void write_png(const std::string& path, const Image& image) {
  write_file_atomically(path, encode_png(image));
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  write_file_atomically(path, encode_jpeg(image, quality));
}

}  // namespace lavender::io
