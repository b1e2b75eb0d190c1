// Every way an untrusted safetensors file can be wrong gives an error naming the file and,
// where there is one, the tensor.
#include <gtest/gtest.h>

#include <string>

#include "lavender/io/safetensors_header.h"
#include "lavender/util/error.h"

namespace lavender::io {
namespace {

std::string file_bytes(const std::string& header, size_t data_bytes, uint64_t declared = ~0ull) {
  uint64_t n = declared == ~0ull ? header.size() : declared;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

StHeader parse(const std::string& bytes) {
  return parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "bad.safetensors");
}

// Expects an error whose message contains every one of `parts` and the file name.
void expect_error(const std::string& bytes, std::initializer_list<const char*> parts) {
  try {
    parse(bytes);
    FAIL() << "no error; expected one mentioning " << *parts.begin();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

const char* kTwo = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"I8","shape":[2,2],"data_offsets":[8,12]}})";

TEST(SafetensorsHeader, ParsesAValidHeader) {
  StHeader h = parse(file_bytes(kTwo, 12));
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.find("b")->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(h.find("b")->dtype, StDtype::I8);
  EXPECT_EQ(h.data_size, 12u);
  EXPECT_EQ(h.find("zzz"), nullptr);
}

TEST(SafetensorsHeader, EmptyFileAndTruncatedHeader) {
  expect_error("", {"too short"});
  expect_error(std::string(5, '\0'), {"too short"});
  std::string full = file_bytes(kTwo, 12);
  expect_error(full.substr(0, 30), {"runs past the end", "truncated"});
}

TEST(SafetensorsHeader, TruncatedDataBuffer) {
  expect_error(file_bytes(kTwo, 10), {"'b'", "run past the data buffer"});
}

TEST(SafetensorsHeader, OversizeHeaderLength) {
  expect_error(file_bytes("{}", 0, 200'000'000), {"exceeds the 100 MB limit"});
}

TEST(SafetensorsHeader, BrokenJson) {
  expect_error(file_bytes(R"({"a":{"dtype":"F32",)", 0), {"not valid JSON"});
  expect_error(file_bytes("[1,2]", 0), {"does not start with '{'"});
  expect_error(file_bytes("{} trailing", 0), {"not valid JSON"});
}

TEST(SafetensorsHeader, DuplicateNames) {
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                          R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                          2),
               {"'a'", "appears twice"});
}

TEST(SafetensorsHeader, MissingOrMistypedFields) {
  expect_error(file_bytes(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", 1), {"'a'", "dtype"});
  expect_error(file_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4), {"'a'", "shape"});
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", 4), {"'a'", "data_offsets"});
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
               {"'a'", "non-negative"});
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
               {"'a'", "shape"});
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
               {"'a'", "exactly [begin, end]"});
  expect_error(file_bytes(R"({"a":7})", 0), {"'a'", "not a JSON object"});
}

TEST(SafetensorsHeader, UnknownDtype) {
  expect_error(file_bytes(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4),
               {"'a'", "unknown dtype \"F33\""});
}

TEST(SafetensorsHeader, ShapeAndByteRangeDisagree) {
  expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
               {"'a'", "holds 8 bytes", "needs 12"});
  expect_error(file_bytes(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],)"
                          R"("data_offsets":[0,8]}})",
                          8),
               {"'a'", "overflows"});
}

TEST(SafetensorsHeader, OffsetsOutOfRangeReversedOverlappingOrGapped) {
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})", 4),
               {"'a'", "run past the data buffer"});
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4),
               {"'a'", "begin 4 > end 0"});
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                          6),
               {"'a'", "'b'", "overlap"});
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                          R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                          6),
               {"bytes 2..4", "belong to no tensor"});
  expect_error(file_bytes(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5),
               {"3 trailing bytes"});
}

TEST(SafetensorsHeader, Metadata) {
  StHeader h = parse(file_bytes(R"({"__metadata__":{"format":"pt"}})", 0));
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_TRUE(h.tensors.empty());
  expect_error(file_bytes(R"({"__metadata__":{"n":1}})", 0), {"'n'", "not a string"});
  expect_error(file_bytes(R"({"__metadata__":[]})", 0), {"__metadata__"});
}

TEST(SafetensorsHeader, ZeroSizedTensorsNeedNoBytes) {
  StHeader h = parse(file_bytes(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                                R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                                4));
  EXPECT_EQ(h.find("e")->numel(), 0u);
  EXPECT_EQ(h.find("s")->numel(), 1u);
}

TEST(SafetensorsHeader, WriterHeaderIsPaddedAndParsesBack) {
  std::vector<StTensorInfo> infos = {{"w", StDtype::BF16, {3}, 0, 6}};
  std::string header = make_safetensors_header(infos, {{"format", "pt"}});
  EXPECT_EQ((8 + header.size()) % 8, 0u);
  StHeader h = parse(file_bytes(header, 6));
  EXPECT_EQ(h.find("w")->dtype, StDtype::BF16);
  EXPECT_EQ(h.metadata.at("format"), "pt");
}

TEST(SafetensorsHeader, DtypeNamesRoundTrip) {
  for (const char* n : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16",
                        "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0"}) {
    auto d = dtype_from_name(n);
    ASSERT_TRUE(d.has_value()) << n;
    EXPECT_STREQ(dtype_name(*d), n);
  }
  EXPECT_FALSE(dtype_from_name("f32").has_value());
}

}  // namespace
}  // namespace lavender::io
