// A Hugging Face checkpoint as one name → tensor map: a single `.safetensors` file, a sharded
// set described by `*.safetensors.index.json`, or a model folder holding either
// (transformers' `model.safetensors[.index.json]`, diffusers' `diffusion_pytorch_model...`).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lavender/io/safetensors.h"

namespace lavender::io {

// Anything that yields named tensors: a checkpoint, or an in-memory map (tests, conversions).
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::vector<std::string> names() const = 0;  // sorted
  virtual bool contains(const std::string& name) const = 0;
  virtual at::Tensor tensor(const std::string& name) const = 0;
  // Where the tensors come from, for error messages.
  virtual std::string describe() const = 0;
  // A hint that the bytes behind `name` will not be read again (a loader copied them out):
  // a mapped file gives their pages back, so loading never holds file and model at once.
  virtual void release(const std::string& name) const { (void)name; }
  // Whether tensors may be changed in place (a model may adopt them as its parameters and train
  // them). A read-only file mapping is not.
  virtual bool writable() const { return true; }
};

class TensorMapSource : public TensorSource {
 public:
  explicit TensorMapSource(std::map<std::string, at::Tensor> tensors, std::string name = "tensors")
      : tensors_(std::move(tensors)), name_(std::move(name)) {}
  std::vector<std::string> names() const override;
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  at::Tensor tensor(const std::string& name) const override;
  std::string describe() const override { return name_; }

 private:
  std::map<std::string, at::Tensor> tensors_;
  std::string name_;
};

class Checkpoint : public TensorSource {
 public:
  // `path`: a .safetensors file, an index .json, or a folder. Throws lavender::Error naming the
  // file at fault: nothing to load, an index naming a missing shard or a tensor its shard lacks,
  // a tensor in two shards, a shard path escaping the folder, or any invalid shard.
  static Checkpoint open(const std::string& path);

  std::vector<std::string> names() const override;
  bool contains(const std::string& name) const override { return where_.count(name) > 0; }
  at::Tensor tensor(const std::string& name) const override;
  std::string describe() const override { return path_; }
  void release(const std::string& name) const override;
  bool writable() const override;

  const StTensorInfo& info(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // Metadata of the index (`metadata` object) or, for one file, its `__metadata__`.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t total_bytes() const;

 private:
  const SafetensorsFile& file_holding(const std::string& name) const;

  std::string path_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name → index into files_
  std::map<std::string, std::string> metadata_;
};

// The checkpoint file a folder holds: by the names transformers and diffusers save under (index
// first, so a sharded save wins), else its only .safetensors file unless the folder is a
// pipeline (see below). Empty when none is found.
std::string find_checkpoint_in_folder(const std::string& folder);

// The subfolders of a diffusers pipeline folder (unet/, vae/, text_encoder/, ...) that hold a
// checkpoint, sorted by name. Empty for a folder that is not a pipeline.
std::vector<std::string> find_pipeline_components(const std::string& folder);

}  // namespace lavender::io
