#include "explain_support.h"
#include "simd.h"

// Whether v replaces best as a window's winner: larger, or a NaN over a number (the first NaN stays).
static inline int beats(float v, float best) { return !(v <= best) & (best == best); }

#if defined(__SSE2__)
static inline __m128 beats4(__m128 v, __m128 best) {
    return _mm_andnot_ps(_mm_cmple_ps(v, best), _mm_cmpord_ps(best, best));
}
static inline __m128 select4(__m128 mask, __m128 a, __m128 b) {
    return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b));
}
// The four cells of 4 consecutive windows: a b (top row), e f (bottom row).
static inline void load_windows(const float *r0, const float *r1, __m128 *a, __m128 *b, __m128 *e, __m128 *f) {
    __m128 t0 = _mm_loadu_ps(r0), t1 = _mm_loadu_ps(r0 + 4), u0 = _mm_loadu_ps(r1), u1 = _mm_loadu_ps(r1 + 4);
    *a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    *b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
    *e = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(2, 0, 2, 0));
    *f = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(3, 1, 3, 1));
}
#endif

void explain_max2x2_rows(const float *restrict src, long w, float *restrict dst, long oh, long ow) {
    for (long i = 0; i < oh; i++) {
        const float *r0 = src + 2 * i * w, *r1 = r0 + w;
        float *d = dst + i * ow;
        long j = 0;
#if defined(__SSE2__)
        for (; j + 4 <= ow; j += 4) {
            __m128 a, b, e, f;
            load_windows(r0 + 2 * j, r1 + 2 * j, &a, &b, &e, &f);
            __m128 best = a;
            best = select4(beats4(b, best), b, best);
            best = select4(beats4(e, best), e, best);
            best = select4(beats4(f, best), f, best);
            _mm_storeu_ps(d + j, best);
        }
#endif
        for (; j < ow; j++) {
            float best = r0[2 * j];
            if (beats(r0[2 * j + 1], best)) best = r0[2 * j + 1];
            if (beats(r1[2 * j], best)) best = r1[2 * j];
            if (beats(r1[2 * j + 1], best)) best = r1[2 * j + 1];
            d[j] = best;
        }
    }
}

void explain_route2x2_rows(const float *restrict src, const float *restrict g, long w, float *restrict dst, long oh, long ow,
                           int positive_only) {
#if defined(__SSE2__)
    // All ones, or (positive_only) the lanes whose window maximum is > 0 (NaN is not).
    const __m128 ones = _mm_castsi128_ps(_mm_set1_epi32(-1)), zero = _mm_setzero_ps();
#endif
    for (long i = 0; i < oh; i++) {
        const float *r0 = src + 2 * i * w, *r1 = r0 + w, *gi = g + i * ow;
        float *d0 = dst + 2 * i * w, *d1 = d0 + w;
        long j = 0;
#if defined(__SSE2__)
        for (; j + 4 <= ow; j += 4) {
            __m128 a, b, e, f;
            load_windows(r0 + 2 * j, r1 + 2 * j, &a, &b, &e, &f);
            // One-hot winner masks, updated like the running maximum.
            __m128 wa = _mm_castsi128_ps(_mm_set1_epi32(-1)), best = a;
            __m128 tb = beats4(b, best);
            best = select4(tb, b, best); wa = _mm_andnot_ps(tb, wa);
            __m128 wb = tb;
            __m128 te = beats4(e, best);
            best = select4(te, e, best); wa = _mm_andnot_ps(te, wa); wb = _mm_andnot_ps(te, wb);
            __m128 we = te;
            __m128 wf = beats4(f, best);
            best = select4(wf, f, best);
            wa = _mm_andnot_ps(wf, wa); wb = _mm_andnot_ps(wf, wb); we = _mm_andnot_ps(wf, we);
            __m128 v = _mm_and_ps(_mm_loadu_ps(gi + j), positive_only ? _mm_cmpgt_ps(best, zero) : ones);
            __m128 va = _mm_and_ps(wa, v), vb = _mm_and_ps(wb, v), ve = _mm_and_ps(we, v), vf = _mm_and_ps(wf, v);
            store_2x2_blocks(d0 + 2 * j, d1 + 2 * j, va, vb, ve, vf);
        }
#endif
        for (; j < ow; j++) {
            const float a = r0[2 * j], b = r0[2 * j + 1], e = r1[2 * j], f = r1[2 * j + 1];
            float best = a;
            int winner = 0;
            if (beats(b, best)) { best = b; winner = 1; }
            if (beats(e, best)) { best = e; winner = 2; }
            if (beats(f, best)) { best = f; winner = 3; }
            const float v = positive_only && !(best > 0.0f) ? 0.0f : gi[j];
            d0[2 * j] = winner == 0 ? v : 0.0f;
            d0[2 * j + 1] = winner == 1 ? v : 0.0f;
            d1[2 * j] = winner == 2 ? v : 0.0f;
            d1[2 * j + 1] = winner == 3 ? v : 0.0f;
        }
    }
}

// A float select without a branch (compilers turn `t ? a : b` on floats into jumps).
static inline float select1(int t, float a, float b) {
    union { float f; unsigned u; } x = { a }, y = { b };
    unsigned m = 0u - (unsigned)t;
    x.u = (x.u & m) | (y.u & ~m);
    return x.f;
}

// One window of the general kernel (also the border cells of the 3×3/stride-2 fast path).
static inline void one_window(const float *restrict src, long w, long rs, long rl, long rh, long cs, long cl, long ch,
                              long dh, long dw, float *best_out, long *winner_out) {
    if (rl >= rh || cl >= ch) { *best_out = -__builtin_inff(); *winner_out = -1; return; }
    long winner = (rs + rl * dh) * w + cs + cl * dw;
    float best = src[winner];
    for (long ki = rl; ki < rh; ki++) {
        const long row = (rs + ki * dh) * w + cs;
        for (long kj = cl; kj < ch; kj++) {
            const long k = row + kj * dw;
            const float v = src[k];
            const int t = beats(v, best);
            best = select1(t, v, best);
            winner = t ? k : winner;
        }
    }
    *best_out = best;
    *winner_out = winner;
}

void explain_maxpool_plane(const float *restrict src, long w, long oh, long ow,
                           const long *restrict row_start, const long *restrict row_lo, const long *restrict row_hi,
                           const long *restrict col_start, const long *restrict col_lo, const long *restrict col_hi,
                           long dh, long dw, int window3x3s2, float *restrict best_out, long *restrict winner_out) {
    // 3×3 window, stride 2, no dilation (the ResNet stem): 4 outputs at a time where the window and
    // the two 8-float loads per row lie inside the plane; the border cells take the scalar path.
    const int fast = window3x3s2;
    for (long i = 0; i < oh; i++) {
        const long rs = row_start[i], rl = row_lo[i], rh = row_hi[i];
        long j = 0;
#if defined(__SSE2__)
        if (fast && rl == 0 && rh == 3) {
            const __m128i lane = _mm_setr_epi32(0, 2, 4, 6);
            for (; j < ow; j++) {
                const long cs = col_start[j];
                if (cs >= 0 && col_lo[j] == 0 && col_hi[j] == 3) break;
                one_window(src, w, rs, rl, rh, cs, col_lo[j], col_hi[j], dh, dw, best_out + i * ow + j, winner_out + i * ow + j);
            }
            for (; j + 4 <= ow && col_start[j] + 9 < w; j += 4) {
                const long cs = col_start[j];
                __m128 best = _mm_setzero_ps();
                __m128i winner = _mm_setzero_si128();
                for (int ki = 0; ki < 3; ki++) {
                    const long base = (rs + ki) * w + cs;
                    const __m128 a0 = _mm_loadu_ps(src + base), a1 = _mm_loadu_ps(src + base + 4);
                    const __m128 b0 = _mm_loadu_ps(src + base + 2), b1 = _mm_loadu_ps(src + base + 6);
                    const __m128 taps[3] = { _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                                             _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)),
                                             _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)) };
                    for (int kj = 0; kj < 3; kj++) {
                        const __m128i index = _mm_add_epi32(lane, _mm_set1_epi32((int)(base + kj)));
                        if (ki == 0 && kj == 0) { best = taps[0]; winner = index; continue; }
                        const __m128 t = beats4(taps[kj], best);
                        const __m128i ti = _mm_castps_si128(t);
                        best = select4(t, taps[kj], best);
                        winner = _mm_or_si128(_mm_and_si128(ti, index), _mm_andnot_si128(ti, winner));
                    }
                }
                int idx[4];
                _mm_storeu_ps(best_out + i * ow + j, best);
                _mm_storeu_si128((__m128i *)idx, winner);
                for (int t = 0; t < 4; t++) winner_out[i * ow + j + t] = idx[t];
            }
        }
#endif
        for (; j < ow; j++) {
            one_window(src, w, rs, rl, rh, col_start[j], col_lo[j], col_hi[j], dh, dw, best_out + i * ow + j, winner_out + i * ow + j);
        }
    }
}

void explain_max2x2_rows_codes(const float *restrict src, long w, float *restrict dst, long oh, long ow, unsigned char *restrict codes) {
    for (long i = 0; i < oh; i++) {
        const float *r0 = src + 2 * i * w, *r1 = r0 + w;
        float *d = dst + i * ow;
        unsigned char *c = codes + i * ow;
        long j = 0;
#if defined(__SSE2__)
        const __m128 zero = _mm_setzero_ps();
        const __m128i one = _mm_set1_epi32(1), two = _mm_set1_epi32(2), three = _mm_set1_epi32(3), four = _mm_set1_epi32(4);
        for (; j + 4 <= ow; j += 4) {
            __m128 a, b, e, f;
            load_windows(r0 + 2 * j, r1 + 2 * j, &a, &b, &e, &f);
            __m128 best = a;
            __m128i code = _mm_setzero_si128();
            __m128 t = beats4(b, best);
            best = select4(t, b, best); code = _mm_or_si128(_mm_andnot_si128(_mm_castps_si128(t), code), _mm_and_si128(_mm_castps_si128(t), one));
            t = beats4(e, best);
            best = select4(t, e, best); code = _mm_or_si128(_mm_andnot_si128(_mm_castps_si128(t), code), _mm_and_si128(_mm_castps_si128(t), two));
            t = beats4(f, best);
            best = select4(t, f, best); code = _mm_or_si128(_mm_andnot_si128(_mm_castps_si128(t), code), _mm_and_si128(_mm_castps_si128(t), three));
            code = _mm_or_si128(code, _mm_and_si128(_mm_castps_si128(_mm_cmpgt_ps(best, zero)), four));
            _mm_storeu_ps(d + j, best);
            __m128i packed = _mm_packus_epi16(_mm_packs_epi32(code, code), _mm_setzero_si128());
            int word = _mm_cvtsi128_si32(packed);
            __builtin_memcpy(c + j, &word, 4);
        }
#endif
        for (; j < ow; j++) {
            float best = r0[2 * j];
            int winner = 0;
            if (beats(r0[2 * j + 1], best)) { best = r0[2 * j + 1]; winner = 1; }
            if (beats(r1[2 * j], best)) { best = r1[2 * j]; winner = 2; }
            if (beats(r1[2 * j + 1], best)) { best = r1[2 * j + 1]; winner = 3; }
            d[j] = best;
            c[j] = (unsigned char)(winner | (best > 0.0f ? 4 : 0));
        }
    }
}

void explain_route2x2_codes(const unsigned char *restrict codes, const float *restrict g, long w, float *restrict dst, long oh, long ow,
                            int positive_only) {
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi32(1), two = _mm_set1_epi32(2), three = _mm_set1_epi32(3);
    const __m128i positions = _mm_set1_epi32(3), sign = _mm_set1_epi32(4);
#endif
    for (long i = 0; i < oh; i++) {
        const unsigned char *c = codes + i * ow;
        const float *gi = g + i * ow;
        float *d0 = dst + 2 * i * w, *d1 = d0 + w;
        long j = 0;
#if defined(__SSE2__)
        for (; j + 4 <= ow; j += 4) {
            int word;
            __builtin_memcpy(&word, c + j, 4);
            __m128i code = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(word), zero), zero);
            __m128 v = _mm_loadu_ps(gi + j);
            if (positive_only) v = _mm_and_ps(v, _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(code, sign), sign)));
            __m128i p = _mm_and_si128(code, positions);
            __m128 va = _mm_and_ps(v, _mm_castsi128_ps(_mm_cmpeq_epi32(p, zero)));
            __m128 vb = _mm_and_ps(v, _mm_castsi128_ps(_mm_cmpeq_epi32(p, one)));
            __m128 ve = _mm_and_ps(v, _mm_castsi128_ps(_mm_cmpeq_epi32(p, two)));
            __m128 vf = _mm_and_ps(v, _mm_castsi128_ps(_mm_cmpeq_epi32(p, three)));
            store_2x2_blocks(d0 + 2 * j, d1 + 2 * j, va, vb, ve, vf);
        }
#endif
        for (; j < ow; j++) {
            const int winner = c[j] & 3;
            const float v = positive_only && !(c[j] & 4) ? 0.0f : gi[j];
            d0[2 * j] = winner == 0 ? v : 0.0f;
            d0[2 * j + 1] = winner == 1 ? v : 0.0f;
            d1[2 * j] = winner == 2 ? v : 0.0f;
            d1[2 * j + 1] = winner == 3 ? v : 0.0f;
        }
    }
}
