// The machine's f32 FMA peak, measured: every thread runs independent chains of fused multiply-adds
// on the widest vectors the compiler targets (-march=native), with no loads or stores in the loop.
// GCC's vector extension keeps it ISA-neutral: 16 floats become one zmm register with AVX-512, two
// ymm with AVX2. Twelve chains cover FMA latency (4 cycles) × ports (2) on current x86 cores, so the
// loop runs at the issue rate the hardware (and the clock it boosts to) allows.
//
//   cc -O2 -march=native -ffp-contract=fast -pthread fma-peak.c -o fma-peak && ./fma-peak THREADS MS
// prints one line: "<GFLOP/s> <threads>".

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef float v16 __attribute__((vector_size(64)));

static volatile float sink;
static long iterations;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *chains(void *unused) {
  (void)unused;
  v16 a = {0}, b = a + 0.999999f, c = a + 1e-7f;
  v16 x0 = a + 1, x1 = a + 2, x2 = a + 3, x3 = a + 4, x4 = a + 5, x5 = a + 6;
  v16 x6 = a + 7, x7 = a + 8, x8 = a + 9, x9 = a + 10, x10 = a + 11, x11 = a + 12;
  for (long k = 0; k < iterations; k++) {
    x0 = x0 * b + c; x1 = x1 * b + c; x2 = x2 * b + c; x3 = x3 * b + c;
    x4 = x4 * b + c; x5 = x5 * b + c; x6 = x6 * b + c; x7 = x7 * b + c;
    x8 = x8 * b + c; x9 = x9 * b + c; x10 = x10 * b + c; x11 = x11 * b + c;
  }
  v16 s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + ((x8 + x9) + (x10 + x11));
  sink = s[0] + s[15]; // keeps the chains live
  return NULL;
}

/* 12 chains × 16 lanes × 2 flops per iteration. */
static const double FLOPS_PER_ITERATION = 12.0 * 16.0 * 2.0;

static double run(int threads) {
  pthread_t ids[256];
  double t0 = seconds();
  for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, chains, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
  return seconds() - t0;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  double ms = argc > 2 ? atof(argv[2]) : 300;
  if (threads < 1 || threads > 256 || !(ms > 0)) {
    fprintf(stderr, "usage: fma-peak THREADS(1..256) MS\n");
    return 2;
  }
  // Calibrate on one short run, then time a run of about MS milliseconds.
  iterations = 1000000;
  double t = run(threads);
  iterations = (long)(iterations * (ms / 1e3) / (t > 1e-6 ? t : 1e-6)) + 1;
  t = run(threads);
  printf("%.3f %d\n", threads * (double)iterations * FLOPS_PER_ITERATION / t / 1e9, threads);
  return 0;
}
