// Bit masks of a Relu's output (`y > 0`), kept for the backward pass instead of the output itself.
// Bit i of a mask is bit (i % 8) of byte i / 8.
#include "explain_support.h"
#include "simd.h"

void explain_relu_mask(const float *x, float *y, long n, unsigned char *restrict bits) {
    long i = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
        // max(x, 0) with NaN kept: clear the lanes that are ≤ 0 (false for NaN).
        _mm_storeu_ps(y + i, _mm_andnot_ps(_mm_cmple_ps(a, zero), a));
        _mm_storeu_ps(y + i + 4, _mm_andnot_ps(_mm_cmple_ps(b, zero), b));
        bits[i >> 3] = (unsigned char)(_mm_movemask_ps(_mm_cmpgt_ps(a, zero)) | (_mm_movemask_ps(_mm_cmpgt_ps(b, zero)) << 4));
    }
#endif
    for (; i < n; i += 8) {
        unsigned byte = 0;
        for (long k = 0; k < 8 && i + k < n; k++) {
            float v = x[i + k];
            if (v > 0) byte |= 1u << k;
            y[i + k] = v <= 0 ? 0 : v;
        }
        bits[i >> 3] = (unsigned char)byte;
    }
}

void explain_keep_where_bits(const unsigned char *restrict bits, long first, float *restrict g, long n) {
    long i = 0;
    // Up to the next whole byte of the mask.
    for (; i < n && ((first + i) & 7) != 0; i++) {
        if (!((bits[(first + i) >> 3] >> ((first + i) & 7)) & 1)) g[i] = 0;
    }
#if defined(__SSE2__)
    const __m128i low = _mm_set_epi32(8, 4, 2, 1), high = _mm_set_epi32(128, 64, 32, 16);
    for (; i + 8 <= n; i += 8) {
        __m128i byte = _mm_set1_epi32(bits[(first + i) >> 3]);
        __m128 keepLow = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(byte, low), low));
        __m128 keepHigh = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(byte, high), high));
        _mm_storeu_ps(g + i, _mm_and_ps(_mm_loadu_ps(g + i), keepLow));
        _mm_storeu_ps(g + i + 4, _mm_and_ps(_mm_loadu_ps(g + i + 4), keepHigh));
    }
#endif
    for (; i < n; i++) {
        if (!((bits[(first + i) >> 3] >> ((first + i) & 7)) & 1)) g[i] = 0;
    }
}
