/* Plain C Mandelbrot baseline for benchmarks/kernels.py: same frame, same bail-out radius
 * (256), same pixel-centre mapping, integer escape counts, OpenMP over rows. No shortcuts. */
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage: cre cim width nx ny maxit reps [out.bin]\n"); return 2; }
    double cre = atof(argv[1]), cim = atof(argv[2]), width = atof(argv[3]);
    int nx = atoi(argv[4]), ny = atoi(argv[5]), maxit = atoi(argv[6]), reps = atoi(argv[7]);
    int *out = malloc(sizeof(int) * (size_t)nx * ny);
    double ps = width / nx, best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
        #pragma omp parallel for schedule(dynamic, 4)
        for (int y = 0; y < ny; y++) {
            double ci = cim - (y - (ny - 1) / 2.0) * ps;
            for (int x = 0; x < nx; x++) {
                double cr = cre + (x - (nx - 1) / 2.0) * ps;
                double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
                int n = 0;
                while (n < maxit && zr2 + zi2 <= 65536.0) {
                    zi = 2 * zr * zi + ci;
                    zr = zr2 - zi2 + cr;
                    zr2 = zr * zr; zi2 = zi * zi;
                    n++;
                }
                /* counted as in fractalkit: iterations until |z| > 256; maxit = inside,
                   an escape on the very last iteration counts as maxit - 1 */
                if (zr2 + zi2 > 65536.0) { if (n == maxit) n = maxit - 1; } else n = maxit;
                out[(size_t)y * nx + x] = n;
            }
        }
        double t = omp_get_wtime() - t0;
        if (t < best) best = t;
    }
    printf("%.6f\n", best);
    if (argc > 8) { FILE *f = fopen(argv[8], "wb"); fwrite(out, sizeof(int), (size_t)nx * ny, f); fclose(f); }
    free(out);
    return 0;
}
