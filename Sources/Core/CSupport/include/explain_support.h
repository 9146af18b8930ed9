#ifndef EXPLAIN_SUPPORT_H
#define EXPLAIN_SUPPORT_H
/// Keeps freed memory in the heap instead of returning large blocks to the kernel (glibc mallopt).
/// Returns 1 when the allocator accepted the settings, 0 otherwise (e.g. not glibc).
int explain_keep_freed_memory(void);

/// 2×2/stride-2 max pooling of one plane (row length `w`) into `oh`×`ow` outputs: the first
/// maximum in row-major order wins, a NaN wins over numbers. Vectorised by the C compiler.
void explain_max2x2_rows(const float *restrict src, long w, float *restrict dst, long oh, long ow);

/// Its pullback for one plane: each of the `oh`×`ow` windows' gradient `g` goes to the winner, the
/// window's other three cells get 0 (cells outside the full windows are not touched).
void explain_route2x2_rows(const float *restrict src, const float *restrict g, long w, float *restrict dst, long oh, long ow);

/// General max pooling of one plane (row length `w`): for output (i, j) the window covers rows
/// `row_start[i] + ki·dh` for ki in `row_lo[i]..<row_hi[i]` and likewise columns. Writes each
/// window's maximum and the index of its winner in the plane (first maximum in row-major order, a
/// NaN wins), or (-inf, -1) for an empty window. `window3x3s2` (kernel 3×3, stride 2, dilation 1)
/// selects an SSE2 path for the interior cells.
void explain_maxpool_plane(const float *restrict src, long w, long oh, long ow,
                           const long *restrict row_start, const long *restrict row_lo, const long *restrict row_hi,
                           const long *restrict col_start, const long *restrict col_lo, const long *restrict col_hi,
                           long dh, long dw, int window3x3s2, float *restrict best_out, long *restrict winner_out);
#endif
