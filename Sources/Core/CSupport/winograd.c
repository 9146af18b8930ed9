// Winograd F(2×2, 3×3) transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", CVPR 2016): Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over 4×4 input tiles with stride 2.
// The element-wise product summed over channels becomes 16 GEMMs (done by the caller through BLAS).
//
//   Bᵀ = [1  0 -1  0]     G = [ 1    0    0 ]     Aᵀ = [1  1  1  0]
//        [0  1  1  0]         [ ½    ½    ½ ]          [0  1 -1 -1]
//        [0 -1  1  0]         [ ½   -½    ½ ]
//        [0  1  0 -1]         [ 0    0    1 ]
#include "explain_support.h"
#include <string.h>
#include "simd.h"

void explain_winograd_filter(const float *restrict w, long k_count, long c_count, int flipped_transposed,
                             long k_begin, long k_end, float *restrict u) {
    for (long k = k_begin; k < k_end; k++) {
        for (long c = 0; c < c_count; c++) {
            float g[3][3];
            if (flipped_transposed) {
                // Output channel k of the transposed convolution is input channel k of w (c_count
                // output channels there); its taps are rotated by 180°.
                const float *src = w + (c * k_count + k) * 9;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) g[i][j] = src[(2 - i) * 3 + (2 - j)];
            } else {
                const float *src = w + (k * c_count + c) * 9;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) g[i][j] = src[i * 3 + j];
            }
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            for (int i = 0; i < 4; i++) {
                float v[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++) u[((long)(i * 4 + j) * k_count + k) * c_count + c] = v[j];
            }
        }
    }
}

// One input row of the tile band, zero-padded: buf[j] = x[row][j - pad_left] for j in 0..<len.
// `buf` has room for len + 8 floats. The paddings are a few floats: stored directly (a memset call
// per pad cost more than the copy of the row itself).
static void padded_row(const float *restrict plane, long h, long w, long row, long pad_left, float *restrict buf, long len) {
    if (row < 0 || row >= h) {
        memset(buf, 0, (size_t)len * sizeof(float));
        return;
    }
    const float *src = plane + row * w;
    long lo = pad_left < len ? pad_left : len;                  // buf[0..<lo] is left padding
    long hi = w + pad_left < len ? w + pad_left : len;          // buf[lo..<hi] is the row
    if (lo > 0) buf[0] = 0;                                     // lo ≤ 2 (Winograd's top/left padding)
    if (lo > 1) buf[1] = 0;
    for (long j = 2; j < lo; j++) buf[j] = 0;
    if (hi > lo) memcpy(buf + lo, src + (lo - pad_left), (size_t)(hi - lo) * sizeof(float));
    if (len - hi > 8) {
        memset(buf + hi, 0, (size_t)(len - hi) * sizeof(float));
    } else if (len > hi) {
#if defined(__SSE2__)
        _mm_storeu_ps(buf + hi, _mm_setzero_ps());              // within the 8 floats of slack
        _mm_storeu_ps(buf + hi + 4, _mm_setzero_ps());
#else
        for (long j = hi; j < len; j++) buf[j] = 0;
#endif
    }
}

void explain_winograd_input(const float *restrict x, long channels, long h, long w, long pad_top, long pad_left,
                            long tiles_w, long tile_row0, long tile_rows, float *restrict v, long xi_stride, long ldv,
                            float *restrict scratch) {
    long len = 2 * tiles_w + 2;   // the vector path reads up to 2·t + 9 < len
    long room = len + 8;          // each row buffer's size (see padded_row)
    for (long c = 0; c < channels; c++) {
        const float *plane = x + c * h * w;
        float *rows[4] = {scratch, scratch + room, scratch + 2 * room, scratch + 3 * room};
        for (long tr = 0; tr < tile_rows; tr++) {
            long r0 = 2 * (tile_row0 + tr) - pad_top;
            if (tr == 0) {
                for (int i = 0; i < 4; i++) padded_row(plane, h, w, r0 + i, pad_left, rows[i], len);
            } else {
                // Tiles overlap by two rows: the last two rows of the previous tile row are the first two of this one.
                float *f0 = rows[0], *f1 = rows[1];
                rows[0] = rows[2]; rows[1] = rows[3]; rows[2] = f0; rows[3] = f1;
                padded_row(plane, h, w, r0 + 2, pad_left, rows[2], len);
                padded_row(plane, h, w, r0 + 3, pad_left, rows[3], len);
            }
            const float *restrict b0 = rows[0], *restrict b1 = rows[1], *restrict b2 = rows[2], *restrict b3 = rows[3];
            float *restrict out = v + c * ldv + tr * tiles_w;
            long t = 0;
#if defined(__SSE2__)
            // Four tiles at a time: the even/odd cells of 10 consecutive row values.
            for (; t + 4 <= tiles_w; t += 4) {
                const long j = 2 * t;
                __m128 d[4][4];
                const float *rs[4] = {b0, b1, b2, b3};
                for (int i = 0; i < 4; i++) {
                    __m128 lo = _mm_loadu_ps(rs[i] + j), hi = _mm_loadu_ps(rs[i] + j + 4);
                    __m128 lo2 = _mm_loadu_ps(rs[i] + j + 2), hi2 = _mm_loadu_ps(rs[i] + j + 6);
                    d[i][0] = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
                    d[i][1] = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
                    d[i][2] = _mm_shuffle_ps(lo2, hi2, _MM_SHUFFLE(2, 0, 2, 0));
                    d[i][3] = _mm_shuffle_ps(lo2, hi2, _MM_SHUFFLE(3, 1, 3, 1));
                }
                __m128 cs[4][4];
                for (int q = 0; q < 4; q++) {
                    cs[0][q] = _mm_sub_ps(d[0][q], d[2][q]);
                    cs[1][q] = _mm_add_ps(d[1][q], d[2][q]);
                    cs[2][q] = _mm_sub_ps(d[2][q], d[1][q]);
                    cs[3][q] = _mm_sub_ps(d[1][q], d[3][q]);
                }
                for (int i = 0; i < 4; i++) {
                    _mm_storeu_ps(out + (i * 4 + 0) * xi_stride + t, _mm_sub_ps(cs[i][0], cs[i][2]));
                    _mm_storeu_ps(out + (i * 4 + 1) * xi_stride + t, _mm_add_ps(cs[i][1], cs[i][2]));
                    _mm_storeu_ps(out + (i * 4 + 2) * xi_stride + t, _mm_sub_ps(cs[i][2], cs[i][1]));
                    _mm_storeu_ps(out + (i * 4 + 3) * xi_stride + t, _mm_sub_ps(cs[i][1], cs[i][3]));
                }
            }
#endif
            for (; t < tiles_w; t++) {
                const long j = 2 * t;
                // Columns: Bᵀ d (rows combined), then rows: (Bᵀ d) B.
                float c0[4], c1[4], c2[4], c3[4];
                for (int q = 0; q < 4; q++) {
                    c0[q] = b0[j + q] - b2[j + q];
                    c1[q] = b1[j + q] + b2[j + q];
                    c2[q] = b2[j + q] - b1[j + q];
                    c3[q] = b1[j + q] - b3[j + q];
                }
                const float *cs[4] = {c0, c1, c2, c3};
                for (int i = 0; i < 4; i++) {
                    const float *r = cs[i];
                    out[(i * 4 + 0) * xi_stride + t] = r[0] - r[2];
                    out[(i * 4 + 1) * xi_stride + t] = r[1] + r[2];
                    out[(i * 4 + 2) * xi_stride + t] = r[2] - r[1];
                    out[(i * 4 + 3) * xi_stride + t] = r[1] - r[3];
                }
            }
        }
    }
}

// Aᵀ M A for one tile: the 2×2 outputs (plus the bias).
static inline void output_tile(const float *restrict s, long xi_stride, long t, float b, float o[4]) {
    float a[16];
    for (int q = 0; q < 16; q++) a[q] = s[q * xi_stride + t];
    float u0 = a[0] + a[4] + a[8], u1 = a[1] + a[5] + a[9], u2 = a[2] + a[6] + a[10], u3 = a[3] + a[7] + a[11];
    float l0 = a[4] - a[8] - a[12], l1 = a[5] - a[9] - a[13], l2 = a[6] - a[10] - a[14], l3 = a[7] - a[11] - a[15];
    o[0] = u0 + u1 + u2 + b;
    o[1] = u1 - u2 - u3 + b;
    o[2] = l0 + l1 + l2 + b;
    o[3] = l1 - l2 - l3 + b;
}

// y = v, or y += v when accumulating.
static inline void put(float *y, float v, int accumulate) { *y = accumulate ? *y + v : v; }

void explain_winograd_output(const float *restrict m, long channels, long xi_stride, long ldm, const float *restrict bias,
                             long oh, long ow, long tiles_w, long tile_row0, long tile_rows, int accumulate, float *restrict y) {
    const long full = ow / 2;   // tiles whose two output columns are both inside
    for (long k = 0; k < channels; k++) {
        const float b = bias ? bias[k] : 0.0f;
        float *plane = y + k * oh * ow;
        for (long tr = 0; tr < tile_rows; tr++) {
            const float *restrict s = m + k * ldm + tr * tiles_w;
            const long row = 2 * (tile_row0 + tr);
            float *restrict y0 = plane + row * ow;
            float o[4];
            if (row + 1 < oh) {
                float *restrict y1 = y0 + ow;
                long t = 0;
#if defined(__SSE2__)
                const __m128 bv = _mm_set1_ps(b);
                for (; t + 4 <= full; t += 4) {
                    __m128 a[16];
                    for (int q = 0; q < 16; q++) a[q] = _mm_loadu_ps(s + q * xi_stride + t);
                    __m128 u[4], l[4];
                    for (int q = 0; q < 4; q++) {
                        u[q] = _mm_add_ps(_mm_add_ps(a[q], a[4 + q]), a[8 + q]);
                        l[q] = _mm_sub_ps(_mm_sub_ps(a[4 + q], a[8 + q]), a[12 + q]);
                    }
                    __m128 o00 = _mm_add_ps(_mm_add_ps(_mm_add_ps(u[0], u[1]), u[2]), bv);
                    __m128 o01 = _mm_add_ps(_mm_sub_ps(_mm_sub_ps(u[1], u[2]), u[3]), bv);
                    __m128 o10 = _mm_add_ps(_mm_add_ps(_mm_add_ps(l[0], l[1]), l[2]), bv);
                    __m128 o11 = _mm_add_ps(_mm_sub_ps(_mm_sub_ps(l[1], l[2]), l[3]), bv);
                    if (accumulate) add_2x2_blocks(y0 + 2 * t, y1 + 2 * t, o00, o01, o10, o11);
                    else store_2x2_blocks(y0 + 2 * t, y1 + 2 * t, o00, o01, o10, o11);
                }
#endif
                for (; t < full; t++) {
                    output_tile(s, xi_stride, t, b, o);
                    put(y0 + 2 * t, o[0], accumulate);
                    put(y0 + 2 * t + 1, o[1], accumulate);
                    put(y1 + 2 * t, o[2], accumulate);
                    put(y1 + 2 * t + 1, o[3], accumulate);
                }
                if (full < tiles_w) {
                    output_tile(s, xi_stride, full, b, o);
                    put(y0 + 2 * full, o[0], accumulate);
                    put(y1 + 2 * full, o[2], accumulate);
                }
            } else {
                for (long t = 0; t < full; t++) {
                    output_tile(s, xi_stride, t, b, o);
                    put(y0 + 2 * t, o[0], accumulate);
                    put(y0 + 2 * t + 1, o[1], accumulate);
                }
                if (full < tiles_w) {
                    output_tile(s, xi_stride, full, b, o);
                    put(y0 + 2 * full, o[0], accumulate);
                }
            }
        }
    }
}
