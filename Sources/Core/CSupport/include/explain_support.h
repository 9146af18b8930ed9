#ifndef EXPLAIN_SUPPORT_H
#define EXPLAIN_SUPPORT_H
/// Keeps freed memory in the heap instead of returning large blocks to the kernel (glibc mallopt).
/// Returns 1 when the allocator accepted the settings, 0 otherwise (e.g. not glibc).
int explain_keep_freed_memory(void);
#endif
