// A reference fixture (../shared/fixtures/README.md): a model checkpoint, `io.safetensors` with
// the inputs the Python reference ran on and the outputs it produced, and `meta.json`.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/io/safetensors.h"

namespace lavender::parity {

// Kinds the harness knows, named after the fixture folders.
enum class FixtureKind { clip_text, llava, mllama, sd, preprocess, openflamingo, minicpmv };
const char* kind_name(FixtureKind kind);

struct Fixture {
  std::string dir;
  FixtureKind kind;
  nlohmann::json meta;
  std::shared_ptr<io::SafetensorsFile> io;

  // Tensors of io.safetensors that are inputs to the model, not reference outputs.
  std::vector<std::string> input_names() const;
  std::vector<std::string> reference_names() const;
  at::Tensor tensor(const std::string& name) const { return io->tensor(name); }
  bool has(const std::string& name) const { return io->contains(name); }
  // An input the fixture may leave out (labels, say): undefined when absent.
  at::Tensor optional_tensor(const std::string& name) const {
    return has(name) ? tensor(name) : at::Tensor();
  }
  std::string path(const std::string& relative) const { return dir + "/" + relative; }
};

// Recognises the kind from meta.json's "class" and the folder layout. Throws lavender::Error
// naming the folder when it is not a fixture or its kind is unknown.
FixtureKind detect_kind(const std::string& dir, const nlohmann::json& meta);
Fixture load_fixture(const std::string& dir);

}  // namespace lavender::parity
