#include "lavender/dm/extract.h"

#include <torch/torch.h>

#include <cctype>
#include <filesystem>

#include "lavender/dm/aggregate.h"
#include "lavender/io/config/diffusers.h"
#include "lavender/runtime/device.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

// Token ids beyond the embedding table would index out of bounds inside LibTorch; say why here.
void check_vocab(const std::vector<text::ClipTokenizer::Encoding>& enc, int64_t vocab_size) {
  for (const auto& e : enc)
    for (int64_t id : e.ids)
      if (id < 0 || id >= vocab_size)
        throw Error("token id " + std::to_string(id) +
                    " is outside the text encoder's vocabulary (" + std::to_string(vocab_size) +
                    " ids): the tokenizer does not match the model");
}

at::Tensor ids_tensor(const std::vector<text::ClipTokenizer::Encoding>& enc) {
  auto n = static_cast<int64_t>(enc.size()), t = static_cast<int64_t>(enc.at(0).ids.size());
  at::Tensor ids = torch::empty({n, t}, torch::kLong);
  for (int64_t b = 0; b < n; ++b)
    std::copy(enc[static_cast<size_t>(b)].ids.begin(), enc[static_cast<size_t>(b)].ids.end(),
              ids[b].data_ptr<int64_t>());
  return ids;
}

// One noise tensor per sample from its own generator (see extract()), drawn on the CPU so the
// values do not depend on the device either.
std::vector<at::Tensor> draw_noise(const at::Tensor& latents, uint64_t seed, int64_t draws) {
  std::vector<at::Tensor> per_draw(static_cast<size_t>(draws));
  const std::vector<int64_t> shape = latents[0].sizes().vec();  // the view dies with latents[0]
  std::vector<std::vector<at::Tensor>> rows(static_cast<size_t>(draws));
  for (int64_t b = 0; b < latents.size(0); ++b) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (int64_t d = 0; d < draws; ++d)
      rows[static_cast<size_t>(d)].push_back(at::randn(shape, gen, torch::kFloat));
  }
  for (int64_t d = 0; d < draws; ++d)
    per_draw[static_cast<size_t>(d)] =
        torch::stack(rows[static_cast<size_t>(d)]).to(latents.device(), latents.scalar_type());
  return per_draw;
}

std::vector<std::string> layer_names(const std::vector<SelectedLayer>& layers) {
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  return names;
}

// [B, T, grid, grid] for one pass.
at::Tensor combine_pass(const std::map<std::string, at::Tensor>& probs,
                        const std::vector<SelectedLayer>& layers, int64_t grid,
                        double contrast_power) {
  std::vector<LayerAttention> list;
  for (const auto& l : layers) list.push_back({probs.at(l.name), l.height, l.width, l.weight});
  return combine_layers(list, grid, contrast_power);
}

SampleMaps sample_maps(const text::ClipTokenizer::Encoding& enc, const at::Tensor& token_maps,
                       int64_t size) {
  at::Tensor all =
      word_maps(token_maps, enc.word_of_token, static_cast<int>(enc.words.size()), size);
  SampleMaps out;
  out.truncated = enc.truncated;
  std::vector<int64_t> keep;
  for (size_t w = 0; w < enc.words.size(); ++w) {
    int first = -1, end = -1;
    for (size_t t = 0; t < enc.word_of_token.size(); ++t)
      if (enc.word_of_token[t] == static_cast<int>(w)) {
        if (first < 0) first = static_cast<int>(t);
        end = static_cast<int>(t) + 1;
      }
    if (first < 0 || !is_content_word(enc.words[w])) continue;
    keep.push_back(static_cast<int64_t>(w));
    out.words.push_back(enc.words[w]);
    out.token_spans.emplace_back(first, end);
  }
  out.maps = all.index_select(0, torch::tensor(keep, torch::kLong)).contiguous();
  return out;
}

}  // namespace

at::Device SdPipeline::device() const {
  return unet->conv_in->weight.device();
}

c10::ScalarType SdPipeline::dtype() const {
  return unet->conv_in->weight.scalar_type();
}

int64_t SdPipeline::image_size(int64_t requested) const {
  const auto& sample = unet->config().sample_size;
  return pixel_space() && sample ? sample->height : requested;
}

at::Tensor SdPipeline::latents(const at::Tensor& images) {
  if (!pixel_space()) return latents_from_image(*vae, images);
  const auto& sample = unet->config().sample_size;
  if (!sample || (images.size(2) == sample->height && images.size(3) == sample->width))
    return images;
  return F::interpolate(images, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{sample->height, sample->width})
                                    .mode(torch::kBilinear)
                                    .align_corners(false)
                                    .antialias(true));
}

SdPipeline load_sd_pipeline(const std::string& folder, const std::string& tokenizer,
                            at::ScalarType dtype, at::Device device) {
  if (!fs::is_directory(folder)) throw Error(folder + ": not a diffusers model folder");
  SdPipeline p;
  p.tokenizer = text::load_clip_tokenizer(tokenizer.empty() ? folder + "/tokenizer" : tokenizer);
  p.text_encoder = load_clip_text_model(folder + "/text_encoder", dtype, device);
  p.text_encoder->eval();
  if (fs::exists(folder + "/vae")) p.vae = load_vae(folder + "/vae", dtype, device);
  p.unet = load_unet(folder + "/unet", dtype, device);
  if (p.pixel_space() && (p.unet->config().in_channels != 3 || p.unet->config().out_channels != 3))
    throw Error(folder + ": no vae/ folder, so a pixel-space model, but the UNet takes " +
                std::to_string(p.unet->config().in_channels) + " channels and returns " +
                std::to_string(p.unet->config().out_channels) + " (pixel space needs 3 and 3)");
  p.schedule.emplace(
      io::config::load_ddpm_scheduler_config(folder + "/scheduler/scheduler_config.json"));
  return p;
}

PreparedImage prepare_image(const io::Image& image, int64_t size) {
  if (image.channels != 3 || image.width <= 0 || image.height <= 0)
    throw Error("prepare_image: need a non-empty RGB image");
  at::Tensor x = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                  {image.height, image.width, 3}, torch::kUInt8)
                     .permute({2, 0, 1})
                     .to(torch::kFloat)
                     .unsqueeze(0);
  const double scale = static_cast<double>(size) / std::min(image.width, image.height);
  auto h = std::max<int64_t>(size, std::llround(image.height * scale));
  auto w = std::max<int64_t>(size, std::llround(image.width * scale));
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{h, w})
                            .mode(torch::kBilinear)
                            .align_corners(false)
                            .antialias(true));
  const int64_t top = (h - size) / 2, left = (w - size) / 2;
  x = x.index({0, torch::indexing::Slice(), torch::indexing::Slice(top, top + size),
               torch::indexing::Slice(left, left + size)});
  PreparedImage out;
  out.pixels = (x.clamp(0, 255) / 127.5 - 1).contiguous();
  out.crop = {
      static_cast<int>(std::lround(left / scale)), static_cast<int>(std::lround(top / scale)),
      static_cast<int>(std::lround(size / scale)), static_cast<int>(std::lround(size / scale))};
  return out;
}

std::map<std::string, at::Tensor> noised_cross_attention(SdPipeline& pipeline,
                                                         const at::Tensor& latents,
                                                         const at::Tensor& noise,
                                                         const at::Tensor& timesteps,
                                                         const at::Tensor& context,
                                                         const std::vector<std::string>& layers) {
  at::Tensor noisy = pipeline.schedule->add_noise(latents, noise, timesteps);
  CrossAttentionCapture capture;
  capture.layers.insert(layers.begin(), layers.end());
  pipeline.unet->forward(noisy, timesteps.to(latents.device()), context, &capture);
  return std::move(capture.probs);
}

bool is_content_word(const std::string& word) {
  for (unsigned char c : word)
    if (c >= 0x80 || std::isalnum(c)) return true;
  return false;
}

std::vector<SampleMaps> extract(SdPipeline& pipeline, const at::Tensor& images,
                                const std::vector<std::string>& texts, const Recipe& recipe,
                                uint64_t seed) {
  if (images.dim() != 4 || images.size(0) != static_cast<int64_t>(texts.size()) || texts.empty())
    throw Error("extract: need images [B, 3, H, W] and one text per image");
  torch::NoGradGuard no_grad;
  const at::Device device = pipeline.device();
  const auto max_len = static_cast<int>(pipeline.text_encoder->config().max_position_embeddings);
  std::vector<text::ClipTokenizer::Encoding> enc;
  for (const auto& t : texts) enc.push_back(pipeline.tokenizer->encode_for_model(t, max_len));
  check_vocab(enc, pipeline.text_encoder->config().vocab_size);

  at::Tensor context = pipeline.text_encoder->forward(ids_tensor(enc).to(device)).last_hidden_state;
  at::Tensor latents = pipeline.latents(images.to(device, pipeline.dtype()));
  auto layers = select_layers(
      recipe, pipeline.unet->cross_attention_layers(latents.size(2), latents.size(3)));
  int64_t grid = 0;
  for (const auto& l : layers) grid = std::max({grid, l.height, l.width});

  const auto draws = static_cast<int64_t>(recipe.timesteps.size()) * recipe.samples_per_timestep;
  if (draws <= 0) throw Error("recipe '" + recipe.name + "': no timesteps or noise samples");
  auto noise = draw_noise(latents, seed, draws);
  at::Tensor sum;
  int64_t d = 0;
  for (int64_t t : recipe.timesteps)
    for (int64_t k = 0; k < recipe.samples_per_timestep; ++k, ++d) {
      at::Tensor ts = torch::full({latents.size(0)}, t, torch::kLong);
      auto probs = noised_cross_attention(pipeline, latents, noise[static_cast<size_t>(d)], ts,
                                          context, layer_names(layers));
      at::Tensor pass = combine_pass(probs, layers, grid, recipe.contrast_power).to(torch::kFloat);
      sum = sum.defined() ? sum + pass : pass;
    }
  at::Tensor token_maps = (sum / static_cast<double>(draws)).to(torch::kCPU, torch::kFloat);
  std::vector<SampleMaps> out;
  for (size_t b = 0; b < texts.size(); ++b)
    out.push_back(sample_maps(enc[b], token_maps[static_cast<int64_t>(b)], recipe.map_size));
  return out;
}

}  // namespace lavender::dm
