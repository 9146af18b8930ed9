#ifndef EXPLAIN_SIMD_H
#define EXPLAIN_SIMD_H
// SSE2 helpers shared by the C kernels (private to CExplainSupport).
#if defined(__SSE2__)
#include <emmintrin.h>

// The cells of 4 consecutive 2×2 blocks back in their two rows: row 0 gets a₀ b₀ a₁ b₁ … a₃ b₃,
// row 1 gets e₀ f₀ … e₃ f₃ (8 floats each; a, b are the left/right cells of the top row).
static inline void store_2x2_blocks(float *row0, float *row1, __m128 a, __m128 b, __m128 e, __m128 f) {
    _mm_storeu_ps(row0, _mm_unpacklo_ps(a, b));
    _mm_storeu_ps(row0 + 4, _mm_unpackhi_ps(a, b));
    _mm_storeu_ps(row1, _mm_unpacklo_ps(e, f));
    _mm_storeu_ps(row1 + 4, _mm_unpackhi_ps(e, f));
}

// The same blocks added to what the two rows hold.
static inline void add_2x2_blocks(float *row0, float *row1, __m128 a, __m128 b, __m128 e, __m128 f) {
    _mm_storeu_ps(row0, _mm_add_ps(_mm_loadu_ps(row0), _mm_unpacklo_ps(a, b)));
    _mm_storeu_ps(row0 + 4, _mm_add_ps(_mm_loadu_ps(row0 + 4), _mm_unpackhi_ps(a, b)));
    _mm_storeu_ps(row1, _mm_add_ps(_mm_loadu_ps(row1), _mm_unpacklo_ps(e, f)));
    _mm_storeu_ps(row1 + 4, _mm_add_ps(_mm_loadu_ps(row1 + 4), _mm_unpackhi_ps(e, f)));
}
#endif
#endif
