// The shapes world's own random numbers: xoshiro256** seeded through splitmix64, with integer and
// real draws written out here rather than taken from std::*_distribution, whose output the C++
// standard leaves to each library. So a world built from one --seed is the same byte for byte on
// every platform and compiler.
#pragma once

#include <cstdint>

namespace lavender::synth {

// splitmix64: one step of Steele, Lea and Flood's generator; spreads a seed over 64 bits.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& word : s_) word = splitmix64(s);
  }
  // A generator for one stream (e.g. one image of one split), independent of how many numbers
  // other streams drew: images can be regenerated one by one.
  static Rng stream(uint64_t seed, uint64_t a, uint64_t b = 0) {
    uint64_t s = seed;
    uint64_t mixed = splitmix64(s) ^ (a * 0xD1B54A32D192ED03ull);
    mixed = splitmix64(mixed) ^ (b * 0x8CB92BA72F3D8DD7ull);
    return Rng(splitmix64(mixed));
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (n > 0), by rejection so that no value is favoured.
  uint64_t below(uint64_t n) {
    const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % n);
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  // Uniform integer in [lo, hi].
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo + 1))); }
  bool chance(double p) { return uniform() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace lavender::synth
