#ifndef EXPLAIN_SUPPORT_H
#define EXPLAIN_SUPPORT_H
/// Keeps freed memory in the heap instead of returning large blocks to the kernel (glibc mallopt).
/// Returns 1 when the allocator accepted the settings, 0 otherwise (e.g. not glibc).
int explain_keep_freed_memory(void);

/// 2×2/stride-2 max pooling of one plane (row length `w`) into `oh`×`ow` outputs: the first
/// maximum in row-major order wins, a NaN wins over numbers. Vectorised by the C compiler.
void explain_max2x2_rows(const float *restrict src, long w, float *restrict dst, long oh, long ow);

/// Its pullback for one plane: each of the `oh`×`ow` windows' gradient `g` goes to the winner, the
/// window's other three cells get 0 (cells outside the full windows are not touched). With
/// `positive_only`, windows whose maximum is not > 0 route 0 (a Relu before the pool, fused).
void explain_route2x2_rows(const float *restrict src, const float *restrict g, long w, float *restrict dst, long oh, long ow,
                           int positive_only);

/// `explain_max2x2_rows` that also writes each window's code: the winner's position in the window
/// (0 top left, 1 top right, 2 bottom left, 3 bottom right) plus 4 when the maximum is > 0.
void explain_max2x2_rows_codes(const float *restrict src, long w, float *restrict dst, long oh, long ow, unsigned char *restrict codes);

/// `explain_route2x2_rows` from the codes of `explain_max2x2_rows_codes` instead of the input.
void explain_route2x2_codes(const unsigned char *restrict codes, const float *restrict g, long w, float *restrict dst, long oh, long ow,
                            int positive_only);

/// General max pooling of one plane (row length `w`): for output (i, j) the window covers rows
/// `row_start[i] + ki·dh` for ki in `row_lo[i]..<row_hi[i]` and likewise columns. Writes each
/// window's maximum and the index of its winner in the plane (first maximum in row-major order, a
/// NaN wins), or (-inf, -1) for an empty window. `window3x3s2` (kernel 3×3, stride 2, dilation 1)
/// selects an SSE2 path for the interior cells.
void explain_maxpool_plane(const float *restrict src, long w, long oh, long ow,
                           const long *restrict row_start, const long *restrict row_lo, const long *restrict row_hi,
                           const long *restrict col_start, const long *restrict col_lo, const long *restrict col_hi,
                           long dh, long dw, int window3x3s2, float *restrict best_out, long *restrict winner_out);

/// Relu with its mask: `y[i] = max(x[i], 0)` (NaN kept; `x` may equal `y`) and bit i of `bits` (bit
/// i % 8 of byte i / 8) set exactly when `x[i] > 0`. The last byte's unused bits are cleared.
void explain_relu_mask(const float *x, float *y, long n, unsigned char *restrict bits);

/// `g[i] = 0` where bit `first + i` of `bits` is clear, for i in 0 ..< n.
void explain_keep_where_bits(const unsigned char *restrict bits, long first, float *restrict g, long n);

/// Winograd F(2×2, 3×3) filter transform: `w` (K, C, 3, 3) → `u` (16, K, C). With
/// `flipped_transposed`, transforms the kernel of the transposed convolution instead: `u` (16, C, K)
/// from taps rotated by 180° (`k_count` = C then names its rows, `c_count` = K; w stays (K, C, 3, 3)
/// read as (c_count, k_count, 3, 3)). Writes the rows k_begin ..< k_end of every component.
void explain_winograd_filter(const float *restrict w, long k_count, long c_count, int flipped_transposed,
                             long k_begin, long k_end, float *restrict u);

/// Input transform of `tile_rows` rows of 4×4 tiles (stride 2, starting at tile row `tile_row0`) of
/// `channels` planes h×w zero-padded by `pad_top`/`pad_left`: tile (r, t) of channel c goes to
/// `v[xi·xi_stride + c·ldv + r·tiles_w + t]` for its 16 components xi. `scratch` holds 4·(2·tiles_w + 10) floats.
void explain_winograd_input(const float *restrict x, long channels, long h, long w, long pad_top, long pad_left,
                            long tiles_w, long tile_row0, long tile_rows, float *restrict v, long xi_stride, long ldv,
                            float *restrict scratch);

/// Output transform: the 16 GEMM results `m[xi·xi_stride + k·ldm + r·tiles_w + t]` of each tile become
/// its 2×2 outputs (+ `bias[k]` when not NULL) in `y` (channels, oh, ow), written or, with
/// `accumulate`, added to what `y` holds; cells outside oh×ow are dropped.
void explain_winograd_output(const float *restrict m, long channels, long xi_stride, long ldm, const float *restrict bias,
                             long oh, long ow, long tiles_w, long tile_row0, long tile_rows, int accumulate, float *restrict y);

/// A hint to the processor that the caller is spinning on a memory location (x86 `pause`, ARM `yield`).
static inline void explain_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
