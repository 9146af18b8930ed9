#include "explain_support.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc systems (via features.h)
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int explain_keep_freed_memory(void) {
#if defined(__GLIBC__)
    // Serve every allocation from the heap: glibc caps M_MMAP_THRESHOLD at 32 MiB, so larger
    // tensors would otherwise be mmap'ed, unmapped on every free and page-faulted again by the
    // next pass. With trimming off, freed memory stays mapped for reuse (the process keeps its peak).
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1;
#else
    return 0;
#endif
}
