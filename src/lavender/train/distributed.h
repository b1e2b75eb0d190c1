// Data-parallel training over torch.distributed's c10d: one process per rank, rendezvous through a
// TCPStore hosted by rank 0, collectives on ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA
// builds, CUDA device). The environment is the one `torchrun` (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT) or Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) sets.
//
// A training loop uses it so (launch: `torchrun --nproc-per-node 2 --no-python lavender train ...`
// or `srun` with MASTER_ADDR/MASTER_PORT exported):
//
//   Distributed dist(dist_env_from_environment(), options);
//   dist.broadcast_parameters(params);                      // same start on every rank
//   auto shard = shard_for_rank(n, dist.rank(), dist.world_size(), /*drop_last=*/true);
//   int64_t local = local_batch_size(global_batch, dist.world_size());
//   dist.run_reporting([&] {
//     for (each local batch of the shard) {
//       loss.backward();
//       dist.all_reduce_gradients(params);                  // mean over the global batch
//       double global_loss = dist.all_reduce_mean(loss.item<double>());
//       if (!dist.all_agree(std::isfinite(global_loss))) continue;   // all ranks skip together
//       optimizer.step();
//       if (dist.is_main()) { log / save }
//     }
//   });
//
// c10d headers stay in distributed.cpp (they pull in Gloo and, with CUDA, NCCL); this header only
// needs the tensor type.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lavender::train {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
};

// Looks a variable up; nullopt when it is unset. Empty values count as unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// torchrun's variables first; when RANK and WORLD_SIZE are both absent, Slurm's SLURM_PROCID,
// SLURM_NTASKS and SLURM_LOCALID. Nothing set means one process (rank 0 of 1). With more than
// one rank MASTER_ADDR and MASTER_PORT are required. LOCAL_RANK defaults to RANK (right for
// single-node launches). Throws lavender::Error naming the variable that is missing or malformed.
DistEnv dist_env_from(const EnvLookup& lookup);
DistEnv dist_env_from_environment();

// The positions in [0, n) that `rank` of `world` takes: strided (rank, rank + world, ...), as
// torch's DistributedSampler does, so that local batch k of every rank together make up global
// batch k of a one-process run over the same order (with local batch = global batch / world).
// Map the positions through the epoch's permutation to shuffle. Without drop_last every position
// goes to exactly one rank and the first n % world ranks get one more; with drop_last the last
// n % world positions are left out so every rank gets n / world.
std::vector<size_t> shard_for_rank(size_t n, int rank, int world, bool drop_last = false);

// global_batch / world, or a lavender::Error when it does not divide.
int64_t local_batch_size(int64_t global_batch, int world);

struct DistributedOptions {
  // Collectives and the rendezvous give up after this long (a peer that hangs, never starts).
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  // How long a failing rank 0 keeps the store (which it hosts) up so the others can read why.
  std::chrono::milliseconds failure_linger = std::chrono::seconds(10);
  // Gradients are flattened into buckets of about this many bytes, one all-reduce each.
  size_t bucket_bytes = 25u << 20;
  // CPU selects Gloo; a CUDA device selects NCCL (CUDA builds only) and is this rank's device.
  c10::Device device = c10::Device(c10::kCPU);
};

// One per process. With world_size 1 every method is a local no-op (no sockets, no threads).
//
// Failure handling: a rank whose work throws calls report_failure(message) (run_reporting does it
// for you); that writes "lavender/failed" = "rank R failed: message" to the store and tears its
// process group down, which closes its Gloo connections. The other ranks' next (or pending)
// collective then fails at once instead of waiting for the timeout, and they throw
// lavender::Error with the reported message. A rank that dies without reporting (crash, kill)
// closes its connections too; the others then throw naming the collective and the Gloo error. A
// rank that hangs is caught only by the timeout: c10d 1.13 has no abort for a Gloo group.
class Distributed {
 public:
  explicit Distributed(const DistEnv& env, DistributedOptions options = {});
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  bool is_main() const { return env_.rank == 0; }  // only the main rank writes files
  bool active() const { return env_.world_size > 1; }
  std::string backend_name() const;  // "none", "gloo" or "nccl"

  // Copies rank `root`'s values into every rank's tensors (in place, no autograd).
  void broadcast_parameters(const std::vector<at::Tensor>& tensors, int root = 0);

  // Replaces each tensor by its mean over ranks, in place, bucketed per dtype. All tensors must be
  // defined and floating point, in the same order and shapes on every rank.
  void all_reduce_mean(std::vector<at::Tensor>& tensors);

  // Averages the parameters' gradients over ranks. A gradient that is undefined on this rank but
  // defined on another counts as zeros (it is created); one undefined on every rank stays
  // undefined, so optimisers skip it as they would in a one-process run.
  void all_reduce_gradients(const std::vector<at::Tensor>& parameters);

  // Flat sharded buffers (train/layer_sharding.h): `full` is world_size × shard.numel() elements,
  // rank r's shard at [r × shard.numel(), (r + 1) × shard.numel()).
  // Fills `full` with every rank's `shard` (same dtype, contiguous, 1-D).
  void all_gather(const at::Tensor& shard, at::Tensor& full);
  // The same gather started and left running (Gloo's worker thread, NCCL's stream) while this
  // thread computes; `full` is filled once the returned collective is finished. Both tensors
  // must stay alive until then (the collective holds them).
  class PendingGather;
  PendingGather all_gather_start(const at::Tensor& shard, at::Tensor& full);
  // `shard` becomes this rank's part of the mean over ranks of `full` (float32 or float64). NCCL
  // reduce-scatters; Gloo in LibTorch 1.13 has no reduce-scatter, so it all-reduces `full` (which
  // is overwritten) and keeps this rank's part.
  void reduce_scatter_mean(at::Tensor& full, at::Tensor& shard);

  double all_reduce_sum(double value);
  double all_reduce_mean(double value);
  bool all_agree(bool value);  // true when every rank passes true (e.g. "this step is finite")
  void barrier();

  // Tells the other ranks this one failed (see the class comment) and leaves the group; later
  // collectives on this object throw. Safe to call more than once; never throws.
  void report_failure(const std::string& message) noexcept;

  // Runs fn; if it throws, reports the exception's message and rethrows.
  template <class F>
  auto run_reporting(F&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const std::exception& e) {
      report_failure(e.what());
      throw;
    } catch (...) {
      report_failure("unknown exception");
      throw;
    }
  }

 private:
  struct Impl;
  struct Work;
  DistEnv env_;
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
  int uncaught_at_start_ = 0;
};

// A collective under way: finish() waits for it (failures as a blocking collective reports
// them); destroying an unfinished one waits without throwing, so its buffers outlive the
// transfer. Movable; an empty one (default-constructed or moved from) is finished.
class Distributed::PendingGather {
 public:
  PendingGather();
  PendingGather(PendingGather&&) noexcept;
  PendingGather& operator=(PendingGather&&) noexcept;
  ~PendingGather();
  void finish();
  bool pending() const { return work_ != nullptr; }

 private:
  friend class Distributed;
  void wait_quietly() noexcept;
  std::unique_ptr<Work> work_;
};

}  // namespace lavender::train
