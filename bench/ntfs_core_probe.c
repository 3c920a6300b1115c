/* A MEASUREMENT of the compiled-core candidate, not the checker: the per-record triage the
 * numpy fast path does (scan.py, fastpath.py, mft.fixup_chunk), written in C over a chunk of
 * $MFT records, so bench/ntfs_core_probe.py can time it against numpy on the same bytes.
 *
 * Per record: signature, update sequence (undone in place), header fields, the attribute walk
 * (lengths, bounds, known types, order, instance numbers below next_instance, resident value
 * bounds), mapping pairs decoded for non-resident attributes, $FILE_NAME parent and name length.
 * Writes one state byte per record (0 empty, 1 simple and fine, 2 needs the detailed path,
 * 3 bad signature/fixup) and returns how many $FILE_NAMEs it decoded. */
#include <stdint.h>
#include <string.h>
#include <stddef.h>

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const uint8_t *p) { return (uint32_t)u16(p) | (uint32_t)u16(p + 2) << 16; }
static uint64_t u64(const uint8_t *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

static int runs_ok(const uint8_t *p, const uint8_t *end, int64_t *clusters) {
    int64_t lcn = 0, total = 0;
    while (p < end) {
        uint8_t b = *p;
        if (!b) { *clusters = total; return 1; }
        int nl = b & 15, no = b >> 4;
        if (!nl || nl > 8 || no > 8 || p + 1 + nl + no > end) return 0;
        int64_t len = 0, off = 0;
        for (int i = nl - 1; i >= 0; i--) len = len << 8 | p[1 + i];
        if (p[nl] & 0x80 && nl < 8) len -= (int64_t)1 << (8 * nl);
        if (len <= 0) return 0;
        if (no) {
            for (int i = no - 1; i >= 0; i--) off = off << 8 | p[1 + nl + i];
            if (p[nl + no] & 0x80 && no < 8) off -= (int64_t)1 << (8 * no);
            lcn += off;
            if (lcn < 0) return 0;
        }
        total += len;
        p += 1 + nl + no;
    }
    return 0;
}

long triage(uint8_t *mft, long n, long rs, uint8_t *state, uint64_t *parents) {
    long names = 0, sectors = rs / 512;
    for (long r = 0; r < n; r++) {
        uint8_t *rec = mft + r * rs;
        state[r] = 0;
        uint32_t magic = u32(rec);
        if (!magic) continue;
        if (magic != 0x454c4946u) { state[r] = 3; continue; }
        uint16_t uofs = u16(rec + 4), ucnt = u16(rec + 6);
        if (ucnt != sectors + 1 || uofs & 1 || uofs < 0x28 || uofs + 2 * ucnt > 510) { state[r] = 3; continue; }
        int bad = 0;
        for (long s = 0; s < sectors; s++)
            if (memcmp(rec + (s + 1) * 512 - 2, rec + uofs, 2)) { bad = 1; break; }
        if (bad) { state[r] = 3; continue; }
        for (long s = 0; s < sectors; s++) memcpy(rec + (s + 1) * 512 - 2, rec + uofs + 2 + 2 * s, 2);
        if (!(u16(rec + 0x16) & 1)) continue;
        uint32_t used = u32(rec + 0x18), alloc = u32(rec + 0x1c);
        uint16_t aofs = u16(rec + 0x14), next_inst = u16(rec + 0x28);
        state[r] = 2;
        if (alloc != rs || used < 0x30 || used > rs || used & 7 || aofs & 7 || aofs < uofs + 2 * ucnt ||
            aofs + 8 > used || next_inst >= 64)
            continue;
        uint64_t insts = 0;
        uint32_t last = 0, pos = aofs;
        int simple = 1;
        for (;;) {
            if (pos + 4 > used) { simple = 0; break; }
            uint32_t t = u32(rec + pos);
            if (t == 0xffffffffu) break;
            if (pos + 24 > used) { simple = 0; break; }
            uint32_t alen = u32(rec + pos + 4);
            uint8_t nonres = rec[pos + 8], nlen = rec[pos + 9];
            uint16_t inst = u16(rec + pos + 14);
            if (alen < 24 || alen & 7 || pos + alen > used || t > 0x100 || t & 15 || t < last || inst >= next_inst ||
                insts >> (inst & 63) & 1 || nlen) { simple = 0; break; }
            insts |= (uint64_t)1 << (inst & 63);
            last = t;
            if (nonres) {
                int64_t clusters;
                uint16_t mp = u16(rec + pos + 32);
                if (alen < 64 || mp < 64 || mp >= alen || !runs_ok(rec + pos + mp, rec + pos + alen, &clusters)) {
                    simple = 0; break;
                }
                simple = 0;  /* non-resident: the detailed path judges it whole (with its extents) */
            } else {
                uint32_t vlen = u32(rec + pos + 16);
                uint16_t vofs = u16(rec + pos + 20);
                if (vofs + vlen > alen || (vlen && vofs < 24)) { simple = 0; break; }
                if (t == 0x30) {
                    const uint8_t *v = rec + pos + vofs;
                    if (vlen < 66 || !v[64] || 66 + 2 * (uint32_t)v[64] > vlen || v[65] > 3) { simple = 0; break; }
                    parents[names++ % 4096] = u64(v) & 0xffffffffffffULL;
                }
            }
            pos += alen;
        }
        if (simple) state[r] = 1;
    }
    return names;
}
