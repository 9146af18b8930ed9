#ifndef EXPLAINKIT_COPENBLAS_SHIM_H
#define EXPLAINKIT_COPENBLAS_SHIM_H
#include <cblas.h>
#include <stddef.h>

/* LAPACK's symmetric eigensolver (in OpenBLAS; 32-bit integers, Fortran string lengths last). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol,
             int *m, double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info, size_t jobz_len, size_t range_len, size_t uplo_len);
/* LAPACK's banded symmetric positive definite solver (Cholesky). */
void dpbsv_(const char *uplo, const int *n, const int *kd, const int *nrhs, double *ab, const int *ldab,
            double *b, const int *ldb, int *info, size_t uplo_len);
/* LAPACK's minimum-norm least squares by the singular value decomposition (divide and conquer). */
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb,
             double *s, const double *rcond, int *rank, double *work, const int *lwork, int *iwork, int *info);
#endif
