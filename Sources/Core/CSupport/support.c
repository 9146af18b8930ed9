#include "explain_support.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void explain_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
