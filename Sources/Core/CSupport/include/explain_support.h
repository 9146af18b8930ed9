#ifndef EXPLAIN_SUPPORT_H
#define EXPLAIN_SUPPORT_H
/// Keeps freed memory in the heap instead of returning large blocks to the kernel (glibc mallopt).
void explain_keep_freed_memory(void);
#endif
