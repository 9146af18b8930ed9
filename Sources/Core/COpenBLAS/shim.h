#ifndef EXPLAINKIT_COPENBLAS_SHIM_H
#define EXPLAINKIT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
