/* workload: a CPU-bound mix (CRC-32 over PRNG data, a sieve of Eratosthenes, a 24x24 integer
 * matrix product) for the speed benchmark. Deterministic: it prints a fixed checksum. The
 * instruction count printed is the count measured once on QEMU with -icount (see docs). */
#include "rt.h"

const char guest_name[] = "workload";

#define ROUNDS 100
#define BUF 8192
#define SIEVE 40000
#define N 24
#define INSNS_ESTIMATE "97.5"   /* 6094711 ticks at 62.5 MHz under -icount shift=0, x16 */

static u32 crc_table[256];
static u8 buf[BUF];
static u8 composite[SIEVE];
static u32 ma[N][N], mb[N][N], mc[N][N];
static u64 rng;

static u32 next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (u32)(rng >> 16);
}

static void crc_init(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static u32 crc32(const u8 *p, u32 n)
{
    u32 c = 0xffffffffu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

static u32 sieve(void)
{
    u32 count = 0;
    memset(composite, 0, sizeof composite);
    for (u32 i = 2; i < SIEVE; i++) {
        if (composite[i])
            continue;
        count++;
        for (u32 j = i * 2; j < SIEVE; j += i)
            composite[j] = 1;
    }
    return count;
}

static u32 matmul(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            ma[i][j] = next_rand() & 0xffff, mb[i][j] = next_rand() & 0xffff;
    u32 trace = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            u32 s = 0;
            for (int k = 0; k < N; k++)
                s += ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    for (int i = 0; i < N; i++)
        trace ^= mc[i][i] + mc[i][N - 1 - i];
    return trace;
}

void guest_main(void)
{
    u32 sum = 0;
#ifdef MEASURE
    u64 t0 = SYSREG_READ(cntvct_el0);
#endif
    crc_init();
    for (int r = 0; r < ROUNDS; r++) {
        rng = 0x9e3779b97f4a7c15UL + (u64)r;
        for (int i = 0; i < BUF; i++)
            buf[i] = (u8)next_rand();
        u32 crc = crc32(buf, BUF);
        u32 primes = sieve();
        u32 tr = matmul();
        sum = ((sum << 5) | (sum >> 27)) ^ crc ^ primes ^ tr;
        if (r == 0)
            printf_("workload: round 0 crc32=0x%08x primes=%u trace=0x%08x\n", crc, primes, tr);
    }
#ifdef MEASURE
    u64 t1 = SYSREG_READ(cntvct_el0);
    printf_("workload: MEASURE %lu counter ticks at %lu Hz\n", t1 - t0, SYSREG_READ(cntfrq_el0));
#endif
    printf_("workload: %d rounds, checksum 0x%08x, about %s million instructions\n", ROUNDS, sum, INSNS_ESTIMATE);
}
