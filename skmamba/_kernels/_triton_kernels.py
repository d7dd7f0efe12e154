"""Triton kernels of the selective scan (forward and backward).

Imported only by :mod:`skmamba._kernels.triton_scan`, itself imported only when the Triton
backend is chosen, so the package imports without triton installed.

Layout shared by both kernels
-----------------------------
Grid ``(batch, cdiv(dim, BLOCK_D))``: one program owns ``BLOCK_D`` channels of one batch
row and walks L in chunks of ``BLOCK_L`` steps, holding the (BLOCK_D, BLOCK_N) state in
registers. Inside a chunk the recurrence ``h_t = a_t h_{t-1} + x_t`` is an associative scan
of (a, x) pairs along the last axis of a (BLOCK_D, BLOCK_N, BLOCK_L) tile; the state entering
the chunk is applied afterwards (``h_t = X_t + P_t h_in``), so chunks chain exactly.

The host wrapper guarantees: u, delta, z, dout and every output are contiguous
(batch, dim, L); A, fixed B/C are contiguous (dim, N); variable B/C are contiguous
(batch, G, N, L) and ``BLOCK_D`` divides ``dim // G`` so a program reads a single group.
"""

import triton
import triton.language as tl

# Globals read inside @triton.jit must be tl.constexpr (the compiler rejects plain ones;
# the interpreter does not check).
LOG2E = tl.constexpr(1.4426950408889634)
# softplus is the identity above this (as in F.softplus and mamba-ssm).
SOFTPLUS_THRESHOLD = tl.constexpr(20.0)


@triton.jit
def _combine(a1, b1, a2, b2):
    # Composition of two affine steps h -> a h + b, (a1, b1) first: a2 (a1 h + b1) + b2.
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _softplus(x):
    # libdevice.log1p is unavailable in the interpreter; log(1 + e) alone loses all
    # relative precision once e = exp(x) < 1e-7. Kahan's correction log(w) * e / (w - 1)
    # restores it, and w == 1 means log1p(e) == e to working precision.
    # Callers only keep x <= 20; clamping keeps the discarded lanes free of inf and NaN.
    e = tl.exp(tl.minimum(x, SOFTPLUS_THRESHOLD))
    w = 1.0 + e
    tiny = w == 1.0
    return tl.where(tiny, e, tl.log(w) * (e / tl.where(tiny, 1.0, w - 1.0)))


@triton.jit
def _step_size(DT, row, offs_l, mask, bias, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr):
    """Load raw delta (BLOCK_D, BLOCK_L), return (raw + bias, delta after softplus)."""
    raw = tl.load(DT + row[:, None] + offs_l[None, :], mask=mask, other=0.0).to(tl.float32)
    if HAS_BIAS:
        raw = raw + bias[:, None]
    dt = raw
    if SOFTPLUS:
        dt = tl.where(raw <= SOFTPLUS_THRESHOLD, _softplus(raw), raw)
    # Padded steps must neither decay nor feed the state. Masking after bias and softplus
    # matters: softplus(0 + bias) != 0 (mamba issue #368).
    dt = tl.where(mask, dt, 0.0)
    return raw, dt


@triton.jit
def _fwd_kernel(
    U, DT, A, Bm, Cm, Dv, Z, BIAS, H0,
    OUT, STATES,
    dim, L, N, nchunks,
    G_B, d_per_gB, G_C, d_per_gC,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, HAS_H0: tl.constexpr,
    B_VAR: tl.constexpr, C_VAR: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_L: tl.constexpr,
):
    pid_b = tl.program_id(0).to(tl.int64)
    pid_d = tl.program_id(1)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_d = offs_d < dim
    mask_n = offs_n < N
    mask_dn = mask_d[:, None] & mask_n[None, :]
    row = (pid_b * dim + offs_d) * L
    dn_off = (pid_b * dim + offs_d)[:, None] * N + offs_n[None, :]
    state_row = (pid_b * dim + offs_d) * nchunks * N

    # Padded (d, n) get A = 0, so a = 1 and the (zero) state just carries.
    A2 = tl.load(A + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
    A2 = A2.to(tl.float32) * LOG2E
    bias = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_BIAS:
        bias = tl.load(BIAS + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_D:
        Dd = tl.load(Dv + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if B_VAR:
        gB = (pid_d * BLOCK_D) // d_per_gB
        B_row = ((pid_b * G_B + gB) * N + offs_n) * L
    else:
        Bf = tl.load(Bm + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
        Bf = Bf.to(tl.float32)
    if C_VAR:
        gC = (pid_d * BLOCK_D) // d_per_gC
        C_row = ((pid_b * G_C + gC) * N + offs_n) * L
    else:
        Cf = tl.load(Cm + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
        Cf = Cf.to(tl.float32)

    h = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    if HAS_H0:
        h = tl.load(H0 + dn_off, mask=mask_dn, other=0.0).to(tl.float32)

    for c in range(nchunks):
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < L
        m2 = mask_d[:, None] & mask_l[None, :]
        mnl = mask_n[:, None] & mask_l[None, :]
        ptr2 = row[:, None] + offs_l[None, :]
        u = tl.load(U + ptr2, mask=m2, other=0.0).to(tl.float32)
        _, dt = _step_size(DT, row, offs_l, m2, bias, HAS_BIAS, SOFTPLUS)

        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        dtu = (dt * u)[:, None, :]
        if B_VAR:
            Bt = tl.load(Bm + B_row[:, None] + offs_l[None, :], mask=mnl, other=0.0)
            x = dtu * Bt.to(tl.float32)[None, :, :]
        else:
            x = dtu * Bf[:, :, None]
        ca, cb = tl.associative_scan((a, x), axis=2, combine_fn=_combine)
        hs = cb + ca * h[:, :, None]

        if C_VAR:
            Ct = tl.load(Cm + C_row[:, None] + offs_l[None, :], mask=mnl, other=0.0)
            y = tl.sum(hs * Ct.to(tl.float32)[None, :, :], axis=1)
        else:
            y = tl.sum(hs * Cf[:, :, None], axis=1)
        if HAS_D:
            y += Dd[:, None] * u
        if HAS_Z:
            z = tl.load(Z + ptr2, mask=m2, other=0.0).to(tl.float32)
            y = y * (z * tl.sigmoid(z))
        tl.store(OUT + ptr2, y.to(OUT.dtype.element_ty), mask=m2)

        # Padded tail steps have a = 1, x = 0, so the last column is the state after the
        # last real step. Only these chunk-end states ever reach memory.
        h = tl.sum(tl.where(offs_t[None, None, :] == BLOCK_L - 1, hs, 0.0), axis=2)
        tl.store(STATES + state_row[:, None] + c * N + offs_n[None, :], h, mask=mask_dn)


@triton.jit
def _bwd_kernel(
    U, DT, A, Bm, Cm, Dv, Z, BIAS, H0, STATES, DOUT, DLAST,
    DU, DDT, DZ, DA_P, DB_P, DC_P, DD_P, DBIAS_P, DH0,
    batch, dim, L, N, nchunks,
    G_B, d_per_gB, G_C, d_per_gC,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, HAS_H0: tl.constexpr, HAS_DLAST: tl.constexpr,
    B_VAR: tl.constexpr, C_VAR: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_L: tl.constexpr,
):
    """Reverse sweep over chunks.

    Per chunk: recompute the forward states from the saved state entering the chunk, then
    run the adjoint recurrence g_t = a_{t+1} g_{t+1} + C_t dy_t as a reverse scan, with
    g_{chunk end + 1} (the carry) coming from the chunk after it. Every output is written,
    never accumulated in memory: reductions over batch and over channel blocks are
    left to the host (deterministic, no atomics).
    """
    pid_b = tl.program_id(0).to(tl.int64)
    pid_d = tl.program_id(1)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_d = offs_d < dim
    mask_n = offs_n < N
    mask_dn = mask_d[:, None] & mask_n[None, :]
    row = (pid_b * dim + offs_d) * L
    dn_off = (pid_b * dim + offs_d)[:, None] * N + offs_n[None, :]
    state_row = (pid_b * dim + offs_d) * nchunks * N

    A2 = tl.load(A + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
    A2 = A2.to(tl.float32) * LOG2E
    bias = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_BIAS:
        bias = tl.load(BIAS + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    Dd = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_D:
        Dd = tl.load(Dv + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if B_VAR:
        gB = (pid_d * BLOCK_D) // d_per_gB
        jB = pid_d % (d_per_gB // BLOCK_D)
        B_row = ((pid_b * G_B + gB) * N + offs_n) * L
        dB_row = (((jB * batch + pid_b) * G_B + gB) * N + offs_n) * L
    else:
        Bf = tl.load(Bm + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
        Bf = Bf.to(tl.float32)
        dB_acc = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    if C_VAR:
        gC = (pid_d * BLOCK_D) // d_per_gC
        jC = pid_d % (d_per_gC // BLOCK_D)
        C_row = ((pid_b * G_C + gC) * N + offs_n) * L
        dC_row = (((jC * batch + pid_b) * G_C + gC) * N + offs_n) * L
    else:
        Cf = tl.load(Cm + offs_d[:, None] * N + offs_n[None, :], mask=mask_dn, other=0.0)
        Cf = Cf.to(tl.float32)
        dC_acc = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)

    dA_acc = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    dD_acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    dbias_acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    # carry = dL/dh at the first step of the chunk after the current one; past the end it
    # is the gradient of last_state (the padded steps of the last chunk pass it unchanged).
    carry = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    if HAS_DLAST:
        carry = tl.load(DLAST + dn_off, mask=mask_dn, other=0.0).to(tl.float32)

    for i in range(nchunks):
        c = nchunks - 1 - i
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < L
        m2 = mask_d[:, None] & mask_l[None, :]
        mnl = mask_n[:, None] & mask_l[None, :]
        ptr2 = row[:, None] + offs_l[None, :]
        u = tl.load(U + ptr2, mask=m2, other=0.0).to(tl.float32)
        raw, dt = _step_size(DT, row, offs_l, m2, bias, HAS_BIAS, SOFTPLUS)
        # a_{t+1}: the adjoint decays by the *next* step's factor; 1 past the end of L.
        m2n = mask_d[:, None] & (offs_l + 1 < L)[None, :]
        _, dt_next = _step_size(DT, row, offs_l + 1, m2n, bias, HAS_BIAS, SOFTPLUS)
        dout = tl.load(DOUT + ptr2, mask=m2, other=0.0).to(tl.float32)

        # State entering the chunk: the saved end of the previous chunk, or h0. The chunk
        # index is broadcast to a tensor so the mask is a tensor in the interpreter too.
        c_n = (offs_n * 0 + c)[None, :]
        h_in = tl.load(STATES + state_row[:, None] + (c - 1) * N + offs_n[None, :],
                       mask=mask_dn & (c_n > 0), other=0.0)
        if HAS_H0:
            h_in += tl.load(H0 + dn_off, mask=mask_dn & (c_n == 0), other=0.0).to(tl.float32)

        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        dtu = dt * u
        if B_VAR:
            Bt = tl.load(Bm + B_row[:, None] + offs_l[None, :], mask=mnl, other=0.0)
            Bt3 = Bt.to(tl.float32)[None, :, :]
        else:
            Bt3 = Bf[:, :, None]
        x = dtu[:, None, :] * Bt3
        ca, cb = tl.associative_scan((a, x), axis=2, combine_fn=_combine)
        hs = cb + ca * h_in[:, :, None]
        if C_VAR:
            Ct = tl.load(Cm + C_row[:, None] + offs_l[None, :], mask=mnl, other=0.0)
            Ct3 = Ct.to(tl.float32)[None, :, :]
        else:
            Ct3 = Cf[:, :, None]

        dy = dout
        if HAS_Z:
            z = tl.load(Z + ptr2, mask=m2, other=0.0).to(tl.float32)
            sig = tl.sigmoid(z)
            # out = y * silu(z) needs y again; recomputing it beats saving out.
            y = tl.sum(hs * Ct3, axis=1) + Dd[:, None] * u
            dz = dout * y * sig * (1.0 + z * (1.0 - sig))
            tl.store(DZ + ptr2, dz.to(DZ.dtype.element_ty), mask=m2)
            dy = dout * z * sig

        # Finish every use of hs and x before the adjoint scan so that only a_t h_{t-1}
        # stays live through it (the backward is register-bound).
        hdy = hs * dy[:, None, :]
        if C_VAR:
            tl.store(DC_P + dC_row[:, None] + offs_l[None, :], tl.sum(hdy, axis=0), mask=mnl)
        else:
            dC_acc += tl.sum(hdy, axis=2)
        # a_t h_{t-1} = h_t - x_t: no division by a (which underflows to 0).
        ahp = hs - x

        a_next = tl.exp2(dt_next[:, None, :] * A2[:, :, None])
        beta = Ct3 * dy[:, None, :]
        ga, gb = tl.associative_scan((a_next, beta), axis=2, combine_fn=_combine, reverse=True)
        g = gb + ga * carry[:, :, None]
        carry = tl.sum(tl.where(offs_t[None, None, :] == 0, g, 0.0), axis=2)

        g_ahp = g * ahp
        sgB = tl.sum(g * Bt3, axis=1)
        du = dt * sgB + Dd[:, None] * dy
        # d a_t / d delta_t = A a_t; A is read back from A2 (one (BLOCK_D, N) tile fewer).
        ddt = u * sgB + tl.sum(g_ahp * A2[:, :, None], axis=1) * (1.0 / LOG2E)
        dA_acc += tl.sum(g_ahp * dt[:, None, :], axis=2)
        gx = g * dtu[:, None, :]
        if B_VAR:
            tl.store(DB_P + dB_row[:, None] + offs_l[None, :], tl.sum(gx, axis=0), mask=mnl)
        else:
            dB_acc += tl.sum(gx, axis=2)
        if SOFTPLUS:
            ddt = tl.where(raw <= SOFTPLUS_THRESHOLD, ddt * tl.sigmoid(raw), ddt)
        # Padded steps carry h and g (not zero) through, so their ddt is not zero: mask.
        ddt = tl.where(m2, ddt, 0.0)
        dbias_acc += tl.sum(ddt, axis=1)
        dD_acc += tl.sum(dy * u, axis=1)
        tl.store(DU + ptr2, du.to(DU.dtype.element_ty), mask=m2)
        tl.store(DDT + ptr2, ddt.to(DDT.dtype.element_ty), mask=m2)

    tl.store(DA_P + dn_off, dA_acc, mask=mask_dn)
    if not B_VAR:
        tl.store(DB_P + dn_off, dB_acc, mask=mask_dn)
    if not C_VAR:
        tl.store(DC_P + dn_off, dC_acc, mask=mask_dn)
    if HAS_D:
        tl.store(DD_P + pid_b * dim + offs_d, dD_acc, mask=mask_d)
    if HAS_BIAS:
        tl.store(DBIAS_P + pid_b * dim + offs_d, dbias_acc, mask=mask_d)
    if HAS_H0:
        # h_0 = a_0 h0 + x_0, and carry now holds dL/dh_0.
        _, dt0 = _step_size(DT, row, offs_t, mask_d[:, None] & (offs_t == 0)[None, :],
                            bias, HAS_BIAS, SOFTPLUS)
        dt0 = tl.sum(dt0, axis=1)
        a0 = tl.exp2(dt0[:, None] * A2)
        tl.store(DH0 + dn_off, a0 * carry, mask=mask_dn)
