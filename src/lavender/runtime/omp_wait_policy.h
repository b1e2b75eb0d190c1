// OpenMP's idle threads (LibTorch's intra-op pool, OpenBLAS's OpenMP build) spin for a while after
// each parallel region before they sleep. On a machine with few cores that other work shares, or
// with a model small enough that most time goes to single-threaded bookkeeping between matmuls,
// that spinning steals the cores the main thread needs: a batch-32 step of the shapes-world VLM
// measured 4.5x slower wall time (and 5x the CPU) with the default policy than with PASSIVE on
// this project's 2-core machine under load. libgomp reads OMP_WAIT_POLICY once, when it is
// loaded — before main() — so the policy can only be changed by starting the program again.
#pragma once

namespace lavender::runtime {

// When OMP_WAIT_POLICY is unset: sets it to PASSIVE and re-executes the running program with the
// same arguments (returns only if that fails, leaving the policy as it was). Set
// OMP_WAIT_POLICY=ACTIVE to keep spinning threads (large models on dedicated cores).
void restart_with_passive_omp_threads(char** argv);

}  // namespace lavender::runtime
