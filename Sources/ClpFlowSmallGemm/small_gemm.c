#include "ClpFlowSmallGemm.h"

#include <math.h>
#include <stddef.h>

// ---------------------------------------------------------------------------------------------
// Portable variant (plain C; the compiler vectorises the column loops of the non-transposed case).
// ---------------------------------------------------------------------------------------------

static inline float finish_portable(float acc, float alpha, float beta, const float *c) {
    return beta == 0 ? alpha * acc : alpha * acc + beta * *c;
}

static void nn_portable(long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                        const float *b, long ldb, float beta, float *c, long ldc) {
    enum { W = 64 };
    float acc[W];
    for (long j0 = n0; j0 < n1; j0 += W) {
        long w = n1 - j0 < W ? n1 - j0 : W;
        for (long i = 0; i < m; i++) {
            for (long j = 0; j < w; j++) acc[j] = 0;
            const float *ai = a + i * lda;
            for (long p = 0; p < k; p++) {
                const float av = ai[p];
                const float *bp = b + p * ldb + j0;
                for (long j = 0; j < w; j++) acc[j] += av * bp[j];
            }
            float *ci = c + i * ldc + j0;
            for (long j = 0; j < w; j++) ci[j] = finish_portable(acc[j], alpha, beta, ci + j);
        }
    }
}

static void nt_portable(long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                        const float *b, long ldb, float beta, float *c, long ldc) {
    for (long j = n0; j < n1; j++) {
        const float *bj = b + j * ldb;
        for (long i = 0; i < m; i++) {
            const float *ai = a + i * lda;
            float acc = 0;
            for (long p = 0; p < k; p++) acc += ai[p] * bj[p];
            c[i * ldc + j] = finish_portable(acc, alpha, beta, c + i * ldc + j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA variant (x86-64), compiled for those instructions function by function and chosen at
// run time, so the binary still runs on CPUs without them.
// ---------------------------------------------------------------------------------------------

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CLP_HAVE_AVX2 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/// alpha·acc (+ beta·c) for one scalar, with the roundings of the vector code.
INLINE_AVX2 float finish1(float acc, float alpha, float beta, const float *c) {
    float x = alpha * acc;
    return beta == 0 ? x : fmaf(beta, *c, x);
}

INLINE_AVX2 void store8(float *cp, __m256 acc, __m256 va, __m256 vb, float beta) {
    __m256 x = _mm256_mul_ps(va, acc);
    if (beta != 0) x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cp), x);
    _mm256_storeu_ps(cp, x);
}

/// Rows of B a tile prefetches ahead (the tile reads B down a column strip, one row of B per k, so
/// consecutive reads are a row stride apart and the hardware prefetchers do not follow them).
#define PREFETCH_ROWS 12
/// Rows of B (k) per pass of a tile over its row blocks: the strip stays in the L1 cache while
/// every row block uses it.
#define K_CHUNK 128

/// R rows × V vectors of 8 columns over p in [p0, p1): the accumulators stay in registers; they
/// start at zero (p0 = 0) or from `partial` and end in C (p1 = k) or in `partial`, so every element
/// is one fused multiply-add chain over p = 0 ..< k however the chunks fall.
/// (R and V are constants at every call, so the loops over them unroll.)
INLINE_AVX2 void nn_tile(const int R, const int V, long p0, long p1, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc, float *partial) {
    __m256 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++)
            acc[r][v] = p0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(partial + (r * V + v) * 8);
    for (long p = p0; p < p1; p++) {
        const float *bp = b + p * ldb;
        _mm_prefetch((const char *)(bp + PREFETCH_ROWS * ldb), _MM_HINT_T0);
        if (V == 4) _mm_prefetch((const char *)(bp + PREFETCH_ROWS * ldb + 16), _MM_HINT_T0);
        __m256 bv[4];
        for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(bp + 8 * v);
        for (int r = 0; r < R; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * lda + p);
            for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    if (p1 < k) {
        for (int r = 0; r < R; r++)
            for (int v = 0; v < V; v++) _mm256_storeu_ps(partial + (r * V + v) * 8, acc[r][v]);
        return;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) store8(c + r * ldc + 8 * v, acc[r][v], va, vb, beta);
}

/// One tile of columns (V vectors wide) over all m rows (m ≤ 16), in row blocks of at most `rmax`
/// rows, k in chunks of K_CHUNK.
INLINE_AVX2 void nn_columns(const int V, const int rmax, long m, long k, float alpha, const float *a, long lda,
                            const float *b, long ldb, float beta, float *c, long ldc) {
    float partial[16 * 32];
    for (long p0 = 0; p0 < k || p0 == 0; p0 += K_CHUNK) {
        long p1 = k - p0 > K_CHUNK ? p0 + K_CHUNK : k;
        long i = 0;
        for (; i + rmax <= m; i += rmax)
            nn_tile(rmax, V, p0, p1, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc, partial + i * V * 8);
        float *pt = partial + i * V * 8;
        const float *ai = a + i * lda;
        float *ci = c + i * ldc;
        switch (m - i) {
        case 0: break;
        case 1: nn_tile(1, V, p0, p1, k, alpha, ai, lda, b, ldb, beta, ci, ldc, pt); break;
        case 2: nn_tile(2, V, p0, p1, k, alpha, ai, lda, b, ldb, beta, ci, ldc, pt); break;
        case 3: nn_tile(3, V, p0, p1, k, alpha, ai, lda, b, ldb, beta, ci, ldc, pt); break;
        case 4: nn_tile(4, V, p0, p1, k, alpha, ai, lda, b, ldb, beta, ci, ldc, pt); break;
        default: nn_tile(5, V, p0, p1, k, alpha, ai, lda, b, ldb, beta, ci, ldc, pt); break;
        }
        if (k == 0) break;
    }
}

/// Columns per block of the streaming walk (its accumulators: at most 2 rows × 2,048 floats, 16 KB).
#define STREAM_COLS 2048
/// B larger than this many floats (1 MB) is streamed when m ≤ 2.
#define STREAM_MIN_WEIGHT (1L << 18)

/// m ≤ 2 rows against a large B, reading B in its memory order: for each block of columns, row p
/// of B is one contiguous run, and every element's accumulator (kept in a small buffer that stays
/// in the L1 cache) takes the fused multiply-add of that row. The column strips of `nn_columns`
/// read B a row stride apart, which the hardware prefetchers do not follow on a matrix that does
/// not fit the caches; here the reads are sequential. Each element is still one fused
/// multiply-add chain over p = 0 ..< k from zero, so the bits are those of the strip kernel.
INLINE_AVX2 void nn_stream(long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                           const float *b, long ldb, float beta, float *c, long ldc) {
    __m256 acc[2][STREAM_COLS / 8];
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (long j0 = n0; j0 + 8 <= n1; j0 += STREAM_COLS) {
        long w = n1 - j0 < STREAM_COLS ? n1 - j0 : STREAM_COLS;
        long V = w / 8;
        for (long r = 0; r < m; r++)
            for (long v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
        for (long p = 0; p < k; p++) {
            const float *bp = b + p * ldb + j0;
            __m256 a0 = _mm256_broadcast_ss(a + p);
            if (m == 2) {
                __m256 a1 = _mm256_broadcast_ss(a + lda + p);
                for (long v = 0; v < V; v++) {
                    __m256 bv = _mm256_loadu_ps(bp + 8 * v);
                    acc[0][v] = _mm256_fmadd_ps(a0, bv, acc[0][v]);
                    acc[1][v] = _mm256_fmadd_ps(a1, bv, acc[1][v]);
                }
            } else {
                for (long v = 0; v < V; v++) acc[0][v] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(bp + 8 * v), acc[0][v]);
            }
        }
        for (long r = 0; r < m; r++)
            for (long v = 0; v < V; v++) store8(c + r * ldc + j0 + 8 * v, acc[r][v], va, vb, beta);
    }
}

AVX2 static void nn_avx2(long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc) {
    long j = n0;
    if (m <= 2 && k * ldb > STREAM_MIN_WEIGHT) {
        // whole vectors of columns streamed; the last n mod 8 columns below
        nn_stream(m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
        j = n0 + ((n1 - n0) & ~7L);
    } else if (m <= 2) {
        // few rows: 32 columns per tile, so that enough independent chains hide the FMA latency
        for (; j + 32 <= n1; j += 32) nn_columns(4, 2, m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc);
    } else {
        for (; j + 16 <= n1; j += 16) nn_columns(2, 6, m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc);
    }
    for (; j + 8 <= n1; j += 8) nn_columns(1, 6, m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc);
    // the last columns one at a time: the same fused chain as a vector lane
    for (; j < n1; j++) {
        for (long i = 0; i < m; i++) {
            const float *ai = a + i * lda;
            float acc = 0;
            for (long p = 0; p < k; p++) acc = fmaf(ai[p], b[p * ldb + j], acc);
            c[i * ldc + j] = finish1(acc, alpha, beta, c + i * ldc + j);
        }
    }
}

/// Sum of the 8 lanes in a fixed order.
INLINE_AVX2 float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// R rows of A against J rows of B (dot products along k): R·J vector accumulators.
INLINE_AVX2 void nt_tile(const int R, const int J, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc) {
    __m256 acc[3][8];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < J; t++) acc[r][t] = _mm256_setzero_ps();
    const long k8 = k & ~7L;
    for (long p = 0; p < k8; p += 8) {
        __m256 av[3];
        for (int r = 0; r < R; r++) av[r] = _mm256_loadu_ps(a + r * lda + p);
        for (int t = 0; t < J; t++) {
            __m256 bv = _mm256_loadu_ps(b + t * ldb + p);
            for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(av[r], bv, acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int t = 0; t < J; t++) {
            float s = hsum8(acc[r][t]);
            for (long p = k8; p < k; p++) s = fmaf(a[r * lda + p], b[t * ldb + p], s);
            c[r * ldc + t] = finish1(s, alpha, beta, c + r * ldc + t);
        }
    }
}

/// J rows of B over all m rows of A, in row blocks of at most `rmax` rows.
INLINE_AVX2 void nt_columns(const int J, const int rmax, long m, long k, float alpha, const float *a, long lda,
                            const float *b, long ldb, float beta, float *c, long ldc) {
    long i = 0;
    for (; i + rmax <= m; i += rmax)
        nt_tile(rmax, J, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc);
    switch (m - i) {
    case 0: break;
    case 1: nt_tile(1, J, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc); break;
    default: nt_tile(2, J, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc); break;
    }
}

AVX2 static void nt_avx2(long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc) {
    long j = n0;
    if (m == 1) {
        for (; j + 8 <= n1; j += 8) nt_columns(8, 1, m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc);
    } else {
        for (; j + 4 <= n1; j += 4) nt_columns(4, 3, m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc);
    }
    for (; j < n1; j++) nt_columns(1, 3, m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc);
}

static int cpu_has_avx2_fma(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

int clp_small_gemm_variant_available(int variant) {
    if (variant == 0) return 1;
#ifdef CLP_HAVE_AVX2
    if (variant == 1) return cpu_has_avx2_fma();
#endif
    return 0;
}

int clp_small_gemm_best_variant(void) {
    return clp_small_gemm_variant_available(1) ? 1 : 0;
}

void clp_small_gemm(int variant, int transB, long m, long n0, long n1, long k, float alpha,
                    const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n1 <= n0) return;
    if (variant < 0 || !clp_small_gemm_variant_available(variant)) variant = clp_small_gemm_best_variant();
#ifdef CLP_HAVE_AVX2
    if (variant == 1) {
        // groups of at most 16 rows (the tiles' scratch); rows are independent of each other
        for (long i = 0; i < m; i += 16) {
            long mi = m - i < 16 ? m - i : 16;
            if (transB) nt_avx2(mi, n0, n1, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc);
            else nn_avx2(mi, n0, n1, k, alpha, a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc);
        }
        return;
    }
#endif
    if (transB) nt_portable(m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else nn_portable(m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// ---------------------------------------------------------------------------------------------
// GELU forward.
// ---------------------------------------------------------------------------------------------

#define GELU_SCALE 0.7978845608028654f   /* sqrt(2/pi) */

static inline float exp_portable(float x) {
    float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float k = xc * 1.442695041f + 12582912.0f;
    float n = k - 12582912.0f;
    float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
    float p = 1 + r * (1 + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    union { float f; unsigned u; } kb = { k }, sc;
    sc.u = (kb.u - 0x4B400000u + 127u) << 23;
    return p * sc.f;
}

static void gelu_portable(float *out, float *saved, const float *inp, long count) {
    for (long i = 0; i < count; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        float t = 1 - 2 / (exp_portable(2 * u) + 1);
        if (saved) saved[i] = t;
        out[i] = 0.5f * x * (1 + t);
    }
}

#ifdef CLP_HAVE_AVX2
INLINE_AVX2 __m256 exp8(__m256 x) {
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 k = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.442695041f), magic);
    __m256 n = _mm256_sub_ps(k, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(0.0013888889f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.008333334f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.041666668f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.16666667f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(k),
                                     _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

INLINE_AVX2 void gelu8(float *out, float *saved, const float *inp) {
    __m256 x = _mm256_loadu_ps(inp);
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(GELU_SCALE), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    __m256 e = exp8(_mm256_add_ps(u, u));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    if (saved) _mm256_storeu_ps(saved, t);
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(one, t)));
}

AVX2 static void gelu_avx2(float *out, float *saved, const float *inp, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) gelu8(out + i, saved ? saved + i : NULL, inp + i);
    if (i < count) {
        float x[8] = {0}, o[8], t[8];
        for (long j = i; j < count; j++) x[j - i] = inp[j];
        gelu8(o, t, x);
        for (long j = i; j < count; j++) { out[j] = o[j - i]; if (saved) saved[j] = t[j - i]; }
    }
}
#endif

void clp_gelu_forward(int variant, float *out, float *savedTanh, const float *inp, long count) {
    if (count <= 0) return;
    if (variant < 0 || !clp_small_gemm_variant_available(variant)) variant = clp_small_gemm_best_variant();
#ifdef CLP_HAVE_AVX2
    if (variant == 1) { gelu_avx2(out, savedTanh, inp, count); return; }
#endif
    gelu_portable(out, savedTanh, inp, count);
}
