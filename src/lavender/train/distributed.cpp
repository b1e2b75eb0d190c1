#include "lavender/train/distributed.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <functional>
#include <sstream>
#include <thread>

// LibTorch's CMake config does not pass the c10d backend switches its own build used; the Gloo
// and NCCL headers are empty without them.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef LAVENDER_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

// PyTorch 2.0 split the collective implementations (now c10d::Backend) from the user-facing
// ProcessGroup; Gloo and NCCL derive from whichever holds the collectives in that version.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

constexpr const char* kFailedKey = "lavender/failed";             // "rank R failed: message"
constexpr const char* kFailedCountKey = "lavender/failed_count";  // first reporter writes
constexpr const char* kFailedSeenKey = "lavender/failed_seen";    // ranks that read the message

std::string seconds(std::chrono::milliseconds ms) {
  std::ostringstream s;
  s << static_cast<double>(ms.count()) / 1000.0 << " s";
  return s.str();
}

int parse_int(const std::string& name, const std::string& value, long min, long max) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || end != value.c_str() + value.size() || errno == ERANGE || v < min ||
      v > max) {
    std::ostringstream s;
    s << "distributed environment: " << name << "='" << value << "' is not an integer in [" << min
      << ", " << max << "]";
    throw Error(s.str());
  }
  return static_cast<int>(v);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

DistEnv dist_env_from(const EnvLookup& lookup) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto v = lookup(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  DistEnv env;
  auto rank = get("RANK");
  auto world = get("WORLD_SIZE");
  const char* rank_name = "RANK";
  const char* world_name = "WORLD_SIZE";
  const char* local_name = "LOCAL_RANK";
  if (!rank && !world) {
    // Slurm: srun sets these for every task; torchrun's variables win when both are present.
    rank = get("SLURM_PROCID");
    world = get("SLURM_NTASKS");
    rank_name = "SLURM_PROCID";
    world_name = "SLURM_NTASKS";
    local_name = "SLURM_LOCALID";
    if (!rank && !world) return env;  // not launched by either: one process
  }
  if (!rank)
    throw Error(std::string("distributed environment: ") + world_name + " is set but " + rank_name +
                " is not");
  if (!world)
    throw Error(std::string("distributed environment: ") + rank_name + " is set but " + world_name +
                " is not");
  env.world_size = parse_int(world_name, *world, 1, INT_MAX);
  env.rank = parse_int(rank_name, *rank, 0, env.world_size - 1);
  auto local = get(local_name);
  env.local_rank = local ? parse_int(local_name, *local, 0, INT_MAX) : env.rank;
  if (env.world_size == 1) return env;

  auto addr = get("MASTER_ADDR");
  if (!addr)
    throw Error(std::string("distributed environment: ") + world_name + "=" + *world +
                " but MASTER_ADDR is not set (the host of rank 0, e.g. the first node of the job)");
  env.master_addr = *addr;
  auto port = get("MASTER_PORT");
  if (!port)
    throw Error(std::string("distributed environment: ") + world_name + "=" + *world +
                " but MASTER_PORT is not set (a free TCP port on MASTER_ADDR)");
  env.master_port = parse_int("MASTER_PORT", *port, 1, 65535);
  return env;
}

DistEnv dist_env_from_environment() {
  return dist_env_from([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

std::vector<size_t> shard_for_rank(size_t n, int rank, int world, bool drop_last) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error("shard_for_rank: rank " + std::to_string(rank) + " is outside a world of " +
                std::to_string(world));
  const size_t w = static_cast<size_t>(world);
  const size_t end = drop_last ? n / w * w : n;
  std::vector<size_t> out;
  out.reserve(end / w + 1);
  for (size_t i = static_cast<size_t>(rank); i < end; i += w) out.push_back(i);
  return out;
}

int64_t local_batch_size(int64_t global_batch, int world) {
  if (world < 1 || global_batch < 1 || global_batch % world != 0)
    throw Error("distributed: the global batch size " + std::to_string(global_batch) +
                " does not split evenly over " + std::to_string(world) +
                " ranks; choose a multiple of the world size");
  return global_batch / world;
}

// ---------------------------------------------------------------------------------------------

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveGroup> group;
  std::string backend = "none";
  bool reported = false;     // this rank called report_failure
  bool peer_failed = false;  // a collective failed; the group is gone
  int rank = 0;
  std::chrono::milliseconds timeout{0};

  // Runs one collective and waits for it. On failure the group is dropped (a Gloo context that
  // saw an error is unusable) and the error says which rank failed, if one said so.
  void run(const char* what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) {
    wait(begin(what, start), what);
  }
  // run() in two halves, for a collective left running while this thread computes.
  c10::intrusive_ptr<c10d::Work> begin(
      const char* what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) {
    if (!group)
      throw Error(std::string("distributed: ") + what + " on rank " + std::to_string(rank) +
                  " after this process left the group (an earlier failure)");
    try {
      return start();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      if (backend == "nccl") wait_watching_the_store(*work, what);
      work->wait();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }
  [[noreturn]] void fail(const char* what, const std::exception& e) {
    group.reset();
    peer_failed = true;
    if (dynamic_cast<const Error*>(&e)) throw;  // called in a handler: rethrows it as it is
    throw Error(explain_failure(what, e.what()));
  }

  // A failing peer's NCCL kernels never finish, and NCCL would only notice at its watchdog's
  // timeout: while an NCCL collective runs, the store is checked for a rank's failure report
  // (every 50 ms), so its reason ends the wait at once.
  void wait_watching_the_store(c10d::Work& work, const char* what) {
    auto next_check = std::chrono::steady_clock::now();
    while (!work.isCompleted()) {
      if (std::chrono::steady_clock::now() >= next_check) {
        if (store->check({kFailedKey})) {
          std::vector<uint8_t> bytes = store->get(kFailedKey);
          store->add(kFailedSeenKey, 1);
          throw Error(std::string(bytes.begin(), bytes.end()) + " (seen by rank " +
                      std::to_string(rank) + " in " + what + ")");
        }
        next_check += std::chrono::milliseconds(50);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  // The message a failing rank left in the store, or an account of what we saw ourselves.
  std::string explain_failure(const char* what, const std::string& cause) {
    const std::string brief = cause.substr(0, cause.find('\n'));
    const std::string prefix = std::string("distributed: ") + what + " failed on rank " +
                               std::to_string(rank) + ": " + brief;
    try {
      // The reporter writes the key before closing its connections, but our collective may have
      // failed for another reason first (a timeout); give a slow reporter a moment.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (!store->check({kFailedKey})) {
        if (std::chrono::steady_clock::now() > deadline)
          return prefix +
                 "; no rank reported a failure, so a peer crashed, was killed, or hung "
                 "past the " +
                 seconds(timeout) + " timeout";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::vector<uint8_t> bytes = store->get(kFailedKey);
      store->add(kFailedSeenKey, 1);
      return std::string(bytes.begin(), bytes.end()) + " (seen by rank " + std::to_string(rank) +
             " in " + what + ")";
    } catch (const std::exception&) {
      return prefix + "; the rendezvous store on rank 0 is unreachable too, so rank 0 has exited";
    }
  }
};

Distributed::Distributed(const DistEnv& env, DistributedOptions options)
    : env_(env),
      options_(options),
      impl_(std::make_unique<Impl>()),
      uncaught_at_start_(std::uncaught_exceptions()) {
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size)
    throw Error("distributed: rank " + std::to_string(env.rank) + " is outside a world of " +
                std::to_string(env.world_size));
  impl_->rank = env.rank;
  impl_->timeout = options.timeout;
  if (env.world_size == 1) return;
  // Gloo writes to its peers with writev, which raises SIGPIPE when a peer's socket is gone: a
  // killed peer would then kill this rank silently, mid-step, instead of the collective failing
  // with an account of it. (Python ignores SIGPIPE, so torchrun users never see this.)
  std::signal(SIGPIPE, SIG_IGN);

  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = options.timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    std::string brief = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    throw Error("distributed: rank " + std::to_string(env.rank) + " of " +
                std::to_string(env.world_size) + " could not " +
                (env.rank == 0 ? "host the rendezvous store on port " +
                                     std::to_string(env.master_port) + " or gather all ranks"
                               : "join the rendezvous store at " + where) +
                " within " + seconds(options.timeout) + ": " + brief);
  }
  auto group_store = c10::make_intrusive<c10d::PrefixStore>("lavender/pg", impl_->store);

  try {
    if (options.device.is_cuda()) {
#ifdef LAVENDER_CUDA
      c10::cuda::set_device(options.device.index() >= 0 ? options.device.index()
                                                        : static_cast<c10::DeviceIndex>(0));
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = options.timeout;
      impl_->group =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group_store, env.rank, env.world_size, nccl);
      impl_->backend = "nccl";
#else
      throw Error("distributed: a CUDA device was asked for, but this build has no CUDA");
#endif
    } else {
      auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
      // GLOO_SOCKET_IFNAME picks the network interface as in PyTorch; a loopback master means
      // all ranks are on this host; otherwise Gloo binds to this host name's address.
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(env.master_addr))
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->group =
          c10::make_intrusive<c10d::ProcessGroupGloo>(group_store, env.rank, env.world_size, gloo);
      impl_->backend = "gloo";
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string brief = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    throw Error("distributed: rank " + std::to_string(env.rank) +
                " could not connect its process group (rendezvous " + where + "): " + brief);
  }
}

Distributed::~Distributed() {
  // An exception unwinding past us without report_failure: still tell the others, who would
  // otherwise wait in their next collective until the timeout.
  if (impl_ && impl_->group && !impl_->reported && std::uncaught_exceptions() > uncaught_at_start_)
    report_failure("an exception left the training code (not reported with its message)");
}

std::string Distributed::backend_name() const {
  return impl_->backend;
}

void Distributed::report_failure(const std::string& message) noexcept {
  Impl& m = *impl_;
  if (!active() || m.reported) return;
  m.reported = true;
  const bool first = !m.peer_failed;  // a rank that only relays a peer's failure stays quiet
  try {
    if (first && m.store && m.store->add(kFailedCountKey, 1) == 1) {
      std::string text = "rank " + std::to_string(env_.rank) + " failed: " + message;
      m.store->set(kFailedKey, std::vector<uint8_t>(text.begin(), text.end()));
    }
  } catch (...) {
    // The store is gone (rank 0 exited); closing our connections below still unblocks peers.
  }
  // c10d 1.13 cannot abort a Gloo group; destroying it closes its connections, so peers blocked
  // in (or later entering) a collective with us fail at once with "connection closed".
  m.group.reset();
  if (env_.rank == 0 && first && m.store) {
    // Rank 0 hosts the store: keep it up until the others have read the message (or a while).
    auto deadline = std::chrono::steady_clock::now() + options_.failure_linger;
    try {
      while (m.store->add(kFailedSeenKey, 0) < env_.world_size - 1 &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } catch (...) {
    }
  }
}

namespace {

// Floating dtypes Gloo cannot reduce are reduced in float32 (bf16 on 1.13) and copied back.
at::ScalarType reduce_dtype(at::ScalarType t, const std::string& backend) {
  if (backend == "gloo" && t == at::kBFloat16) return at::kFloat;
  return t;
}

// Tensors grouped by dtype (first appearance order, the same on every rank), each group cut into
// buckets of about `bytes` bytes; `fn` gets the indices of one bucket at a time.
void for_each_bucket(const std::vector<at::Tensor>& ts, size_t bytes,
                     const std::function<void(const std::vector<size_t>&)>& fn) {
  std::vector<at::ScalarType> order;
  for (const auto& t : ts)
    if (std::find(order.begin(), order.end(), t.scalar_type()) == order.end())
      order.push_back(t.scalar_type());
  for (at::ScalarType dtype : order) {
    std::vector<size_t> bucket;
    size_t filled = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i].scalar_type() != dtype) continue;
      size_t b = static_cast<size_t>(ts[i].numel()) * ts[i].element_size();
      if (!bucket.empty() && filled + b > bytes) {
        fn(bucket);
        bucket.clear();
        filled = 0;
      }
      bucket.push_back(i);
      filled += b;
    }
    if (!bucket.empty()) fn(bucket);
  }
}

at::Tensor flatten(const std::vector<at::Tensor>& ts, const std::vector<size_t>& idx,
                   at::ScalarType dtype) {
  std::vector<at::Tensor> parts;
  parts.reserve(idx.size());
  for (size_t i : idx) parts.push_back(ts[i].reshape({-1}));
  return at::cat(parts).to(dtype);
}

void unflatten_into(const at::Tensor& flat, const std::vector<at::Tensor>& ts,
                    const std::vector<size_t>& idx) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (size_t i : idx) {
    const int64_t n = ts[i].numel();
    at::Tensor dst = ts[i];
    dst.copy_(flat.narrow(0, offset, n).view(ts[i].sizes()));
    offset += n;
  }
}

}  // namespace

void Distributed::broadcast_parameters(const std::vector<at::Tensor>& tensors, int root) {
  if (!active()) return;
  for (const auto& t : tensors)
    if (!t.defined()) throw Error("distributed: broadcast_parameters got an undefined tensor");
  for_each_bucket(tensors, options_.bucket_bytes, [&](const std::vector<size_t>& idx) {
    std::vector<at::Tensor> flat{
        flatten(tensors, idx, reduce_dtype(tensors[idx[0]].scalar_type(), impl_->backend))};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    impl_->run("broadcast", [&] { return impl_->group->broadcast(flat, opts); });
    unflatten_into(flat[0], tensors, idx);
  });
}

void Distributed::all_reduce_mean(std::vector<at::Tensor>& tensors) {
  if (!active()) return;
  for (const auto& t : tensors) {
    if (!t.defined()) throw Error("distributed: all_reduce_mean got an undefined tensor");
    if (!at::isFloatingType(t.scalar_type()))
      throw Error(std::string("distributed: all_reduce_mean needs floating tensors, got ") +
                  c10::toString(t.scalar_type()));
    if (impl_->backend == "gloo" && !t.device().is_cpu())
      throw Error("distributed: the Gloo backend reduces CPU tensors; got one on " +
                  t.device().str());
  }
  const double world = static_cast<double>(env_.world_size);
  for_each_bucket(tensors, options_.bucket_bytes, [&](const std::vector<size_t>& idx) {
    std::vector<at::Tensor> flat{
        flatten(tensors, idx, reduce_dtype(tensors[idx[0]].scalar_type(), impl_->backend))};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    impl_->run("all-reduce", [&] { return impl_->group->allreduce(flat, opts); });
    flat[0].div_(world);
    unflatten_into(flat[0], tensors, idx);
  });
}

void Distributed::all_reduce_gradients(const std::vector<at::Tensor>& parameters) {
  if (!active()) return;
  const int64_t n = static_cast<int64_t>(parameters.size());
  // One small all-reduce (MAX) tells every rank which gradients exist anywhere, and checks that
  // all ranks pass the same parameter list: a layout hash h and -h both survive MAX unchanged
  // only when every rank has the same h.
  uint64_t hash = 14695981039346656037u;  // FNV-1a over count, dtypes and shapes
  auto mix = [&](uint64_t v) { hash = (hash ^ v) * 1099511628211u; };
  mix(static_cast<uint64_t>(n));
  for (const auto& p : parameters) {
    mix(static_cast<uint64_t>(p.scalar_type()));
    mix(static_cast<uint64_t>(p.dim()));
    for (int64_t s : p.sizes()) mix(static_cast<uint64_t>(s));
  }
  const int64_t h = static_cast<int64_t>(hash >> 12);  // h and -h both fit in int64
  auto flags = at::zeros({n + 2}, at::TensorOptions().dtype(at::kLong));
  auto f = flags.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) f[i] = parameters[static_cast<size_t>(i)].grad().defined();
  f[n] = h;
  f[n + 1] = -h;
  std::vector<at::Tensor> flag_vec{flags.to(options_.device)};  // NCCL reduces device tensors
  c10d::AllreduceOptions max_opts;
  max_opts.reduceOp = c10d::ReduceOp::MAX;
  impl_->run("all-reduce (gradient layout)",
             [&] { return impl_->group->allreduce(flag_vec, max_opts); });
  at::Tensor any = flag_vec[0].cpu();
  auto a = any.accessor<int64_t, 1>();
  if (a[n] != h || a[n + 1] != -h)
    throw Error("distributed: rank " + std::to_string(env_.rank) +
                " passed a different parameter list (count, shapes or dtypes) than another rank");

  std::vector<at::Tensor> grads;
  for (int64_t i = 0; i < n; ++i) {
    if (!a[i]) continue;
    at::Tensor p = parameters[static_cast<size_t>(i)];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  all_reduce_mean(grads);
}

namespace {

void check_flat(const at::Tensor& shard, const at::Tensor& full, int world, const char* what) {
  if (shard.dim() != 1 || full.dim() != 1 || !shard.is_contiguous() || !full.is_contiguous() ||
      full.numel() != shard.numel() * world || full.scalar_type() != shard.scalar_type())
    throw Error(std::string("internal: ") + what +
                " needs a 1-D contiguous full buffer of world size × the shard's elements, "
                "in the shard's dtype");
}

}  // namespace

void Distributed::all_gather(const at::Tensor& shard, at::Tensor& full) {
  all_gather_start(shard, full).finish();
}

struct Distributed::Work {
  Impl* impl = nullptr;
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> keep;  // the buffers the transfer reads and writes
};

Distributed::PendingGather::PendingGather() = default;
Distributed::PendingGather::PendingGather(PendingGather&&) noexcept = default;
Distributed::PendingGather& Distributed::PendingGather::operator=(PendingGather&& other) noexcept {
  if (this != &other) {
    wait_quietly();
    work_ = std::move(other.work_);
  }
  return *this;
}

Distributed::PendingGather::~PendingGather() {
  wait_quietly();
}

void Distributed::PendingGather::wait_quietly() noexcept {
  if (!work_) return;
  try {
    work_->work->wait();
  } catch (...) {  // the group is failing; whoever uses it next reports why
  }
  work_.reset();
}

void Distributed::PendingGather::finish() {
  if (!work_) return;
  std::unique_ptr<Work> w = std::move(work_);
  w->impl->wait(w->work, "all-gather");
}

Distributed::PendingGather Distributed::all_gather_start(const at::Tensor& shard,
                                                         at::Tensor& full) {
  check_flat(shard, full, env_.world_size, "all_gather");
  torch::NoGradGuard no_grad;
  PendingGather pending;
  if (!active()) {
    full.copy_(shard);
    return pending;
  }
  auto w = std::make_unique<Work>();
  w->impl = impl_.get();
  w->keep = {shard, full};
  const int64_t n = shard.numel();
  if (impl_->backend == "nccl") {
    at::Tensor in = shard;
    w->work = impl_->begin("all-gather", [&] { return impl_->group->_allgather_base(full, in); });
  } else {
    // Gathering only copies bytes: bf16 travels as fp16, which Gloo 1.13 has (it has no bf16).
    auto as_bits = [](const at::Tensor& t) {
      return t.scalar_type() == at::kBFloat16 ? t.view(at::kHalf) : t;
    };
    std::vector<at::Tensor> in{as_bits(shard)};
    std::vector<std::vector<at::Tensor>> out(1);
    at::Tensor bits = as_bits(full);
    for (int r = 0; r < env_.world_size; ++r) out[0].push_back(bits.narrow(0, r * n, n));
    w->work = impl_->begin("all-gather", [&] { return impl_->group->allgather(out, in); });
  }
  pending.work_ = std::move(w);
  return pending;
}

void Distributed::reduce_scatter_mean(at::Tensor& full, at::Tensor& shard) {
  check_flat(shard, full, env_.world_size, "reduce_scatter_mean");
  torch::NoGradGuard no_grad;
  const int64_t n = shard.numel();
  if (!active()) {
    shard.copy_(full);
    return;
  }
  c10d::ReduceScatterOptions rs;
  rs.reduceOp = c10d::ReduceOp::SUM;
  if (impl_->backend == "nccl") {
    impl_->run("reduce-scatter",
               [&] { return impl_->group->_reduce_scatter_base(shard, full, rs); });
  } else {
    std::vector<at::Tensor> t{full};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    impl_->run("all-reduce (reduce-scatter)", [&] { return impl_->group->allreduce(t, opts); });
    shard.copy_(full.narrow(0, static_cast<int64_t>(env_.rank) * n, n));
  }
  shard.div_(static_cast<double>(env_.world_size));
}

double Distributed::all_reduce_sum(double value) {
  if (!active()) return value;
  std::vector<at::Tensor> t{
      at::full({1}, value, at::TensorOptions().dtype(at::kDouble)).to(options_.device)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  impl_->run("all-reduce (scalar)", [&] { return impl_->group->allreduce(t, opts); });
  return t[0].cpu().item<double>();
}

double Distributed::all_reduce_mean(double value) {
  return all_reduce_sum(value) / static_cast<double>(env_.world_size);
}

bool Distributed::all_agree(bool value) {
  if (!active()) return value;
  std::vector<at::Tensor> t{
      at::full({1}, value ? 1 : 0, at::TensorOptions().dtype(at::kInt)).to(options_.device)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MIN;
  impl_->run("all-reduce (agreement)", [&] { return impl_->group->allreduce(t, opts); });
  return t[0].cpu().item<int>() == 1;
}

void Distributed::barrier() {
  if (!active()) return;
  impl_->run("barrier", [&] { return impl_->group->barrier(c10d::BarrierOptions()); });
}

}  // namespace lavender::train
