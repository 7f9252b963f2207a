/* Hand-vectorized C Mandelbrot baseline for benchmarks/kernels.py: the escape-time loop of
 * mandelbrot.c (same frame, bail-out radius 256, pixel-centre mapping, integer counts, OpenMP
 * over rows), on 8 pixels at once with AVX-512 or 4 with AVX2 intrinsics, whichever the
 * compiler targets (-march=native), two vectors in flight. A lane that escapes is frozen
 * (masked blend) and counted no further; a pair of vectors stops when all its lanes have
 * escaped or after maxit steps.
 * Prints the best wall time of `reps` runs; writes the counts if given a file. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__AVX512F__)
#define LANES 8
#define ISA "AVX-512"
typedef __m512d vd;
typedef __mmask8 vm;
#define SET1 _mm512_set1_pd
#define ZERO _mm512_setzero_pd
#define LOAD _mm512_loadu_pd
#define STORE _mm512_storeu_pd
#define ADD _mm512_add_pd
#define SUB _mm512_sub_pd
#define MUL _mm512_mul_pd
#define FMA _mm512_fmadd_pd
#define LE(a, b) _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ)
#define ANY(m) (m)
#define COUNT(n, m) _mm512_mask_add_pd(n, m, n, one)
#define KEEP(m, old, new) _mm512_mask_blend_pd(m, old, new)
#elif defined(__AVX2__)
#define LANES 4
#define ISA "AVX2"
typedef __m256d vd;
typedef __m256d vm;
#define SET1 _mm256_set1_pd
#define ZERO _mm256_setzero_pd
#define LOAD _mm256_loadu_pd
#define STORE _mm256_storeu_pd
#define ADD _mm256_add_pd
#define SUB _mm256_sub_pd
#define MUL _mm256_mul_pd
#define FMA _mm256_fmadd_pd
#define LE(a, b) _mm256_cmp_pd(a, b, _CMP_LE_OQ)
#define ANY(m) _mm256_movemask_pd(m)
#define COUNT(n, m) _mm256_add_pd(n, _mm256_and_pd(m, one))
#define KEEP(m, old, new) _mm256_blendv_pd(old, new, m)
#else
#error "needs AVX2 or AVX-512 (compile with -march=native on x86-64)"
#endif

/* One step of z <- z^2 + c on the lanes still bounded (m); escaped lanes keep their z. */
#define STEP(zr, zi, n, cr, m)                                     \
    do {                                                           \
        vd zr2 = MUL(zr, zr), zi2 = MUL(zi, zi);                   \
        m = LE(ADD(zr2, zi2), lim);                                \
        n = COUNT(n, m);                                           \
        vd nzi = FMA(ADD(zr, zr), zi, ci), nzr = ADD(SUB(zr2, zi2), cr); \
        zr = KEEP(m, zr, nzr);                                     \
        zi = KEEP(m, zi, nzi);                                     \
    } while (0)

/* Two vectors in flight (2 x LANES pixels): their dependency chains overlap, as out-of-order
 * cores need to fill the FMA pipelines. cr must hold a multiple of 2 * LANES values. */
static void row(const double *cr, double ci_, int nx, int maxit, int *out) {
    const vd lim = SET1(65536.0), one = SET1(1.0), ci = SET1(ci_);
    for (int x0 = 0; x0 < nx; x0 += 2 * LANES) {
        vd cra = LOAD(cr + x0), crb = LOAD(cr + x0 + LANES);
        vd ar = ZERO(), ai = ZERO(), an = ZERO(), br = ZERO(), bi = ZERO(), bn = ZERO();
        vm ma, mb;
        for (int it = 0; it < maxit; it++) {
            STEP(ar, ai, an, cra, ma);
            STEP(br, bi, bn, crb, mb);
            if (!ANY(ma) && !ANY(mb)) break;
        }
        double cnt[2 * LANES], fr[2 * LANES], fi[2 * LANES];
        STORE(cnt, an); STORE(cnt + LANES, bn);
        STORE(fr, ar); STORE(fr + LANES, br);
        STORE(fi, ai); STORE(fi + LANES, bi);
        for (int k = 0; k < 2 * LANES && x0 + k < nx; k++) {
            int c = (int)cnt[k];
            /* as in fractalkit and mandelbrot.c: maxit = inside; an escape on the very last
               iteration counts as maxit - 1 */
            if (fr[k] * fr[k] + fi[k] * fi[k] > 65536.0) { if (c == maxit) c = maxit - 1; } else c = maxit;
            out[x0 + k] = c;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage: cre cim width nx ny maxit reps [out.bin]\n"); return 2; }
    double cre = atof(argv[1]), cim = atof(argv[2]), width = atof(argv[3]);
    int nx = atoi(argv[4]), ny = atoi(argv[5]), maxit = atoi(argv[6]), reps = atoi(argv[7]);
    int *out = malloc(sizeof(int) * (size_t)nx * ny);
    int padded = (nx + 2 * LANES - 1) / (2 * LANES) * (2 * LANES);
    double *cr = malloc(sizeof(double) * (size_t)padded);
    double ps = width / nx, best = 1e30;
    for (int x = 0; x < padded; x++) cr[x] = cre + (x - (nx - 1) / 2.0) * ps;
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        #pragma omp parallel for schedule(dynamic, 4)
        for (int y = 0; y < ny; y++) {
            int tmp[padded];
            row(cr, cim - (y - (ny - 1) / 2.0) * ps, nx, maxit, tmp);
            for (int x = 0; x < nx; x++) out[(size_t)y * nx + x] = tmp[x];
        }
        double t = omp_get_wtime() - t0;
        if (t < best) best = t;
    }
    printf("%.6f %s\n", best, ISA);
    if (argc > 8) { FILE *f = fopen(argv[8], "wb"); fwrite(out, sizeof(int), (size_t)nx * ny, f); fclose(f); }
    free(out);
    free(cr);
    return 0;
}
