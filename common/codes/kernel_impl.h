/* kernel_impl.h - the body of gp_combine, compiled once per instruction set.
 *
 * kernel.c includes this file several times, each time with
 *   KFN(name)   the function name with the instruction set's suffix
 *   KTARGET     the target attribute of that instruction set (or nothing)
 *   VMAX(a, m)  lanewise maximum of two vectors of non-negative finite values
 * defined. Everything else (the order of every multiply and add) is the same
 * in each copy, so each produces the same bits.
 */

/* max |v[k][l]| over [l0, l1) into nrm[k]; returns nonzero when the tile may
 * hold a NaN or Inf: the plain sum of the values is NaN or Inf whenever one
 * of them is, and otherwise only when the sum overflows, which the caller
 * settles with an exact scalar scan. Only needed when there are no check
 * rows, whose residuals would show a NaN or Inf. */
static inline __attribute__((always_inline)) KTARGET int
KFN(norms)(int n, const double *const *v, size_t l0, size_t l1, double *nrm)
{
    int suspect = 0;
    for (int k = 0; k < n; k++) {
        const double *p = v[k];
        v4d m0 = {0}, m1 = {0}, m2 = {0}, m3 = {0}, s0 = {0};
        size_t l = l0;
        for (; l + 16 <= l1; l += 16) {
            v4d x0 = load4(p + l), x1 = load4(p + l + 4), x2 = load4(p + l + 8),
                x3 = load4(p + l + 12);
            m0 = VMAX(abs4(x0), m0);
            m1 = VMAX(abs4(x1), m1);
            m2 = VMAX(abs4(x2), m2);
            m3 = VMAX(abs4(x3), m3);
            s0 = s0 + ((x0 + x1) + (x2 + x3)); /* one add per iteration on the chain */
        }
        m0 = VMAX(VMAX(m1, m0), VMAX(m3, m2));
        double m = nrm[k], s = (s0[0] + s0[1]) + (s0[2] + s0[3]);
        for (int i = 0; i < 4; i++)
            if (m0[i] > m) m = m0[i];
        for (; l < l1; l++) {
            double a = fabs(p[l]);
            if (a > m) m = a;
            s += p[l];
        }
        nrm[k] = m;
        suspect |= !(fabs(s) <= DBL_MAX);
    }
    return suspect;
}

/* NR rows (a constant after inlining, as is K in most copies: see block),
 * the first NO of them outputs (o[r][l] = the sum), the rest checks, over
 * elements [l0, l1) of a tile.
 * cb[k * NR + r] is the coefficient of y[k] in row r. Into lanewise
 * accumulators: mr[r] gets max |z[r][l] - sum| of each check row (by maxo4,
 * so a NaN or Inf there stays), and, when wy, ny[k] gets max |y[k][l]| (a
 * NaN there may be lost, but it makes every sum NaN, so every residual). */
static inline __attribute__((always_inline)) KTARGET void
KFN(blockn)(const int NR, const int NO, int K, const double *const *y, size_t l0, size_t l1,
            const double *cb, double *const *o, const double *const *z, v4d *mr, bool wy, v4d *ny)
{
    size_t v1 = l0 + (l1 - l0) / 8 * 8;
    for (size_t l = l0; l < v1; l += 8) {
        v4d a[RB], b[RB];
        v4d y0 = load4(y[0] + l), y1 = load4(y[0] + l + 4);
        if (wy) ny[0] = VMAX(VMAX(abs4(y0), abs4(y1)), ny[0]);
        for (int r = 0; r < NR; r++) {
            a[r] = y0 * cb[r];
            b[r] = y1 * cb[r];
        }
        for (int k = 1; k < K; k++) {
            const double *ck = cb + k * NR;
            y0 = load4(y[k] + l);
            y1 = load4(y[k] + l + 4);
            if (wy) ny[k] = VMAX(VMAX(abs4(y0), abs4(y1)), ny[k]);
            for (int r = 0; r < NR; r++) {
                double cc = ck[r];
                a[r] = a[r] + y0 * cc;
                b[r] = b[r] + y1 * cc;
            }
        }
        for (int r = 0; r < NR; r++) {
            if (r < NO) {
                store4(o[r] + l, a[r]);
                store4(o[r] + l + 4, b[r]);
            } else {
                v4d d0 = abs4(load4(z[r] + l) - a[r]), d1 = abs4(load4(z[r] + l + 4) - b[r]);
                mr[r] = maxo4(maxo4(d1, d0), mr[r]);
            }
        }
    }
    if (v1 < l1) block_tail(NR, NO, K, y, v1, l1, cb, o, z, mr, wy, ny);
}

/* NR and, up to KSPEC, K constants: the loops over rows and base outputs
 * unroll completely and the accumulators stay in registers. */
#define KSPEC 8
#define KCASE(nr, k)                                                                               \
    case (nr)*64 + (k):                                                                            \
        KFN(blockn)(nr, no, k, y, l0, l1, cb, o, z, mr, wy, ny);                                   \
        return;
#define KROW(nr)                                                                                   \
    KCASE(nr, 1)                                                                                   \
    KCASE(nr, 2) KCASE(nr, 3) KCASE(nr, 4) KCASE(nr, 5) KCASE(nr, 6) KCASE(nr, 7) KCASE(nr, 8)

static KTARGET void KFN(block)(int nr, int no, int K, const double *const *y, size_t l0, size_t l1,
                               const double *cb, double *const *o, const double *const *z, v4d *mr,
                               bool wy, v4d *ny)
{
    switch (nr * 64 + (K <= KSPEC ? K : 0)) {
        KROW(1) KROW(2) KROW(3) KROW(4) KROW(5) KROW(6)
    }
    switch (nr) {
    case 1:
        KFN(blockn)(1, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    case 2:
        KFN(blockn)(2, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    case 3:
        KFN(blockn)(3, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    case 4:
        KFN(blockn)(4, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    case 5:
        KFN(blockn)(5, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    default:
        KFN(blockn)(6, no, K, y, l0, l1, cb, o, z, mr, wy, ny);
        return;
    }
}
#undef KROW
#undef KCASE
#undef KSPEC

static KTARGET void KFN(combine)(int K, const double *const *y, size_t len, int nout,
                                 const double *c, double *const *out, int nchk, const double *d,
                                 const double *const *z, double *res, double *ynorm, double *znorm)
{
    int ybad[GP_KMAX] = {0}, zbad[GP_KMAX] = {0}, rbad[GP_KMAX] = {0};
    double rmax[GP_KMAX] = {0};
    int nrow = nout + nchk;
    const double *cr[2 * GP_KMAX], *zr[2 * GP_KMAX];
    double *orow[2 * GP_KMAX];
    for (int r = 0; r < nrow; r++) { /* outputs first, then checks */
        cr[r] = r < nout ? c + (size_t)r * K : d + (size_t)(r - nout) * K;
        orow[r] = r < nout ? out[r] : NULL;
        zr[r] = r < nout ? NULL : z[r - nout];
    }
    for (int k = 0; k < K; k++) ynorm[k] = 0;
    for (int r = 0; r < nchk; r++) znorm[r] = 0;

    double cb[GP_KMAX * RB];
    v4d ny[GP_KMAX], mr[RB];
    for (size_t t0 = 0; t0 < len; t0 += TILE) {
        size_t t1 = t0 + TILE < len ? t0 + TILE : len;
        double tn[GP_KMAX], bm[GP_KMAX];
        for (int k = 0; k < K; k++) ny[k] = (v4d){0};
        for (int r0 = 0; r0 < nrow; r0 += RB) {
            int nr = nrow - r0 < RB ? nrow - r0 : RB, no = nout - r0;
            no = no < 0 ? 0 : no > nr ? nr : no;
            for (int k = 0; k < K; k++)
                for (int r = 0; r < nr; r++) cb[k * nr + r] = cr[r0 + r][k];
            for (int r = 0; r < nr; r++) mr[r] = (v4d){0};
            KFN(block)(nr, no, K, y, t0, t1, cb, orow + r0, zr + r0, mr, r0 == 0 && nchk > 0, ny);
            for (int r = no; r < nr; r++) bm[r0 + r - nout] = hmaxo(mr[r]);
        }
        int suspect = 0;
        if (nchk > 0) { /* a NaN or Inf anywhere, or an overflow, shows in the residuals */
            for (int k = 0; k < K; k++) tn[k] = hmaxo(ny[k]);
            for (int r = 0; r < nchk; r++) suspect |= !(bm[r] <= DBL_MAX);
        } else {
            for (int k = 0; k < K; k++) tn[k] = 0;
            suspect = KFN(norms)(K, y, t0, t1, tn);
        }
        if (suspect) { /* settle the tile with plain loops that test every value */
            double zn;
            for (int k = 0; k < K; k++) ybad[k] |= norms_exact(y[k], t0, t1, &tn[k]);
            for (int r = 0; r < nchk; r++) {
                zbad[r] |= norms_exact(z[r], t0, t1, &zn);
                if (zn > znorm[r]) znorm[r] = zn;
            }
            tile_scalar(K, y, t0, t1, nout, c, out, nchk, d, z, rmax, rbad);
        } else {
            /* |z| <= |z - sum| + |sum| and |sum| <= sum_k |d_k| max|y_k| up to
             * the rounding of K terms, far below the 2^-40 allowed here */
            for (int r = 0; r < nchk; r++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += fabs(d[(size_t)r * K + k]) * tn[k];
                s = s * (1 + 0x1p-40) + bm[r];
                if (s > znorm[r]) znorm[r] = s;
                if (bm[r] > rmax[r]) rmax[r] = bm[r];
            }
        }
        for (int k = 0; k < K; k++)
            if (tn[k] > ynorm[k]) ynorm[k] = tn[k];
    }
    for (int k = 0; k < K; k++)
        if (ybad[k]) ynorm[k] = INFINITY;
    for (int r = 0; r < nchk; r++) {
        res[r] = rmax[r];
        if (zbad[r]) znorm[r] = INFINITY;
        if (rbad[r] || zbad[r]) res[r] = INFINITY;
        if (!(znorm[r] <= DBL_MAX) && !zbad[r]) znorm[r] = DBL_MAX; /* the bound overflowed */
    }
}

static KTARGET double KFN(maxabs)(const double *y, size_t len)
{
    double m = 0;
    if (KFN(norms)(1, &y, 0, len, &m) && norms_exact(y, 0, len, &m)) return INFINITY;
    return m;
}
