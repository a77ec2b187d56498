#ifndef CLP_FLOW_SMALL_GEMM_H
#define CLP_FLOW_SMALL_GEMM_H

/// Matrix products with few rows (token-by-token decoding), computed without packing: the weight
/// matrix is streamed once per tile of output columns while the accumulators of a block of rows
/// stay in registers.
///
/// C[i, j] = alpha · Σ_p A[i, p] · op(B)[p, j] + beta · C[i, j] for the columns n0 ≤ j < n1,
/// with A row-major m×k (row stride lda) and op(B) = B (k×n, row stride ldb; `transB` 0) or
/// Bᵀ (B stored n×k; `transB` 1). With beta 0, C is not read.
///
/// Every element is computed by the same sequence of operations whatever m, the column range and
/// the element's position in its tile, so results do not depend on how a caller splits the work:
/// - transB 0: one fused multiply-add chain over p = 0, 1, ..., k−1;
/// - transB 1: lane-wise fused multiply-add chains over blocks of the vector width, the lanes
///   summed in a fixed order, then the remaining p in order.
/// The variant (instruction set) is chosen once per process from the CPU; `variant` ≥ 0 forces one
/// (0 portable C, 1 AVX2 + FMA), for tests.
void clp_small_gemm(int variant, int transB, long m, long n0, long n1, long k, float alpha,
                    const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// The variant `clp_small_gemm` uses with `variant` −1: 1 on a CPU with AVX2 and FMA, else 0.
int clp_small_gemm_best_variant(void);

/// Whether `variant` can run on this CPU.
int clp_small_gemm_variant_available(int variant);

/// GELU (tanh approximation) over `count` elements: out = 0.5·x·(1 + t), t = tanh(√(2/π)(x + 0.044715x³)),
/// with tanh(u) = 1 − 2/(e^{2u} + 1) and e^x by range reduction and a degree-6 polynomial (no
/// libm call). `savedTanh` (may be NULL) receives t. Every element is computed by the same
/// operations wherever it lies in the array (the last partial vector goes through a padded copy),
/// so callers may split the array anywhere. `variant` as for `clp_small_gemm`.
void clp_gelu_forward(int variant, float *out, float *savedTanh, const float *inp, long count);

#endif
