/* selfcheck: instruction semantics, one line per case, PASS/FAIL. Expected values were worked out
 * by hand (and double-checked with Python's integers); every input comes from a volatile table and
 * every operation is inline assembly, so the compiler folds nothing. */
#include "rt.h"

const char guest_name[] = "selfcheck";

static volatile u64 V[] = {
    0,                      /* 0 */
    1,                      /* 1 */
    0x7fffffffffffffffUL,   /* 2 MAX64 */
    0x8000000000000000UL,   /* 3 MIN64 */
    0xffffffffffffffffUL,   /* 4 -1 */
    0x7fffffff,             /* 5 MAX32 */
    0x80000000,             /* 6 MIN32 */
    0x123456789abcdef0UL,   /* 7 */
    0xffffffff,             /* 8 */
    5,                      /* 9 */
    3,                      /* 10 */
    0xf0,                   /* 11 */
    65,                     /* 12 */
    0xfedcba9876543210UL,   /* 13 */
    33,                     /* 14 */
    0xfffffffffffffffbUL,   /* 15 -5 */
    63,                     /* 16 */
    31,                     /* 17 */
};
#define ZERO V[0]
#define ONE V[1]
#define MAX64 V[2]
#define MIN64 V[3]
#define NEG1 V[4]
#define MAX32 V[5]
#define MIN32 V[6]
#define PAT V[7]
#define LOW32 V[8]
#define FIVE V[9]
#define THREE V[10]
#define XF0 V[11]
#define S65 V[12]
#define PAT2 V[13]
#define S33 V[14]
#define NEG5 V[15]
#define S63 V[16]
#define S31 V[17]

static int ncases, nfailed;

static void chk(const char *name, u64 got, u64 want)
{
    ncases++;
    if (got == want) {
        printf_("selfcheck: PASS %s\n", name);
    } else {
        nfailed++;
        printf_("selfcheck: FAIL %s: got 0x%lx, want 0x%lx\n", name, got, want);
    }
}

/* result of a two-operand instruction template using %0 (dest), %1, %2 */
#define R2(ins, a, b) ({ u64 _r; asm volatile(ins : "=&r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "cc", "memory"); _r; })
#define R1(ins, a) ({ u64 _r; asm volatile(ins : "=&r"(_r) : "r"((u64)(a)) : "cc", "memory"); _r; })
#define R3(ins, a, b, c) ({ u64 _r; asm volatile(ins : "=&r"(_r) : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(c)) : "cc", "memory"); _r; })
/* NZCV (as N=8 Z=4 C=2 V=1) after an instruction template using %0 (dest), %2, %3; flags preset
 * from `in` so carry-in and the flags an instruction must clear are checked too. The result goes
 * to last_result. */
static u64 last_result;
#define F2(ins, a, b, in) ({ u64 _r, _f; \
    asm volatile("msr nzcv, %4\n\t" ins "\n\tmrs %1, nzcv" : "=&r"(_r), "=&r"(_f) \
                 : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(in) << 28) : "cc", "memory"); \
    last_result = _r; _f >> 28; })

static void flags(void)
{
    chk("adds x MAX64+1 nzcv", F2("adds %0, %2, %3", MAX64, ONE, 0), 0x9);
    chk("adds x MAX64+1 result", last_result, 0x8000000000000000UL);
    chk("adds x -1+1 nzcv", F2("adds %0, %2, %3", NEG1, ONE, 0), 0x6);
    chk("adds w MAX32+1 nzcv", F2("adds %w0, %w2, %w3", MAX32, ONE, 0), 0x9);
    chk("adds w MAX32+1 result zero-extended", last_result, 0x80000000UL);
    chk("adds w 0xffffffff+1 nzcv", F2("adds %w0, %w2, %w3", LOW32, ONE, 0), 0x6);
    chk("subs x 0-1 nzcv", F2("subs %0, %2, %3", ZERO, ONE, 0xf), 0x8);
    chk("subs x MIN64-1 nzcv", F2("subs %0, %2, %3", MIN64, ONE, 0), 0x3);
    chk("subs x MIN64-1 result", last_result, 0x7fffffffffffffffUL);
    chk("cmp x 5,5 nzcv", F2("subs %0, %2, %3", FIVE, FIVE, 0), 0x6);
    chk("subs w MIN32-1 nzcv", F2("subs %w0, %w2, %w3", MIN32, ONE, 0), 0x3);
    chk("subs x imm 3-#4 nzcv", F2("subs %0, %2, #4", THREE, ZERO, 0), 0x8);
    chk("adds x imm lsl12 result", (F2("adds %0, %2, #1, lsl #12", ONE, ZERO, 0), last_result), 0x1001);
    chk("adcs x MAX64+0+C nzcv", F2("adcs %0, %2, %3", MAX64, ZERO, 0x2), 0x9);
    chk("adcs x -1+0+C nzcv", F2("adcs %0, %2, %3", NEG1, ZERO, 0x2), 0x6);
    chk("adcs x -1+0+C result", last_result, 0);
    chk("adc x 5+3 no carry", (F2("adc %0, %2, %3", FIVE, THREE, 0), last_result), 8);
    chk("sbcs x 0-0-!C nzcv", F2("sbcs %0, %2, %3", ZERO, ZERO, 0), 0x8);
    chk("sbcs x 0-0-!C result", last_result, 0xffffffffffffffffUL);
    chk("sbcs x MIN64-1 C=1 nzcv", F2("sbcs %0, %2, %3", MIN64, ONE, 0x2), 0x3);
    chk("sbcs w 0-MIN32 C=1 nzcv", F2("sbcs %w0, %w2, %w3", ZERO, MIN32, 0x2), 0x9);
    chk("sbcs w 0-MIN32 result", last_result, 0x80000000UL);
    chk("ccmp cond false takes #imm", F2("cmp %2, %3\n\tccmp %2, %2, #5, eq", FIVE, THREE, 0), 0x5);
    chk("ccmp cond true compares", F2("cmp %2, %2\n\tccmp %3, %2, #5, eq", FIVE, ZERO, 0), 0x8);
    chk("ccmn lt MAX64+MAX64 nzcv", F2("cmp %3, %2\n\tccmn %2, %2, #0, lt", MAX64, THREE, 0), 0x9);
    chk("ccmp imm #31 vs 5 ge", F2("cmp %2, %3\n\tccmp %2, #31, #0, ge", FIVE, THREE, 0), 0x8);
    chk("csneg ge false", R2("cmp %2, %1\n\tcsneg %0, %1, %1, ge", FIVE, THREE), 0xfffffffffffffffbUL);
    chk("csinv lo false", R2("cmp %1, %2\n\tcsinv %0, %1, %1, lo", FIVE, THREE), 0xfffffffffffffffaUL);
    chk("csinc w eq true", R2("cmp %1, %1\n\tcsinc %w0, %w1, %w2, eq", FIVE, THREE), 5);
    chk("cset hi", R2("cmp %1, %2\n\tcset %0, hi", FIVE, THREE), 1);
    chk("cset vs after overflow", R2("adds %0, %1, %2\n\tcset %0, vs", MAX64, ONE), 1);
    chk("ands x clears CV nzcv", F2("ands %0, %2, %3", MIN64, NEG1, 0xf), 0x8);
    chk("tst imm zero nzcv", F2("ands %0, %2, #0xf", XF0, ZERO, 0xf), 0x4);
    chk("bics w nzcv", F2("bics %w0, %w2, %w3", LOW32, MAX32, 0x0), 0x8);
    chk("neg x MIN64", R1("neg %0, %1", MIN64), 0x8000000000000000UL);
    chk("negs x 0 nzcv (C=1)", F2("negs %0, %2", ZERO, ZERO, 0), 0x6);
}

static void shifts_and_extends(void)
{
    chk("lslv x by 65 (mod 64)", R2("lsl %0, %1, %2", ONE, S65), 2);
    chk("lsrv x MIN64 by 63", R2("lsr %0, %1, %2", MIN64, S63), 1);
    chk("asrv x MIN64 by 63", R2("asr %0, %1, %2", MIN64, S63), 0xffffffffffffffffUL);
    chk("rorv x 1 by 65", R2("ror %0, %1, %2", ONE, S65), 0x8000000000000000UL);
    chk("asrv w MIN32 by 31", R2("asr %w0, %w1, %w2", MIN32, S31), 0xffffffffUL);
    chk("lslv w MIN32 by 33 (mod 32)", R2("lsl %w0, %w1, %w2", MIN32, S33), 0);
    chk("lsl x imm #63", R1("lsl %0, %1, #63", ONE), 0x8000000000000000UL);
    chk("lsr w imm upper bits zero", R1("lsr %w0, %w1, #4", NEG1), 0x0fffffffUL);
    chk("add x shifted lsl #4", R2("add %0, %1, %2, lsl #4", ONE, PAT), 0x23456789abcdef01UL);
    chk("sub w shifted asr #4", R2("sub %w0, %w1, %w2, asr #4", ZERO, MIN32), 0x08000000UL);
    chk("eor x shifted ror #1", R2("eor %0, %1, %2, ror #1", ZERO, ONE), 0x8000000000000000UL);
    chk("orn x", R2("orn %0, %1, %2", ZERO, XF0), 0xffffffffffffff0fUL);
    chk("and x imm bitmask", R1("and %0, %1, #0x00ff00ff00ff00ff", PAT), 0x0034007800bc00f0UL);
    chk("orr w imm bitmask", R1("orr %w0, %w1, #0xf0f0f0f0", ZERO), 0xf0f0f0f0UL);
    chk("add x sxtw", R2("add %0, %1, %w2, sxtw", ONE, MIN32), 0xffffffff80000001UL);
    chk("add x uxtb #2", R2("add %0, %1, %w2, uxtb #2", ONE, PAT), 0x3c1);
    chk("sub x sxth", R2("sub %0, %1, %w2, sxth", ZERO, PAT), 0x2110);
    chk("adds x uxtw #3 result", R2("adds %0, %1, %w2, uxtw #3", ZERO, NEG1), 0x7fffffff8UL);
    chk("sxtb x", R1("sxtb %0, %w1", XF0), 0xfffffffffffffff0UL);
    chk("sxtw x", R1("sxtw %0, %w1", MAX32), 0x7fffffff);
    chk("uxth w", R1("uxth %w0, %w1", NEG1), 0xffff);
    chk("sxth w upper zero", R1("sxth %w0, %w1", PAT), 0xffffdef0UL);
    chk("movn x #0", R1("movn %0, #0", ZERO), 0xffffffffffffffffUL);
    chk("movk x lsl 16", R1("mov %0, %1\n\tmovk %0, #0x1234, lsl #16", NEG1), 0xffffffff1234ffffUL);
    chk("movz w lsl 16", R1("movz %w0, #0xbeef, lsl #16", ZERO), 0xbeef0000UL);
    chk("movn w", R1("movn %w0, #1", ZERO), 0xfffffffeUL);
}

static void bitfields(void)
{
    chk("ubfx x #8,#16", R1("ubfx %0, %1, #8, #16", PAT), 0xbcde);
    chk("sbfx x #4,#8", R1("sbfx %0, %1, #4, #8", PAT), 0xffffffffffffffefUL);
    chk("bfi x #16,#8", R2("mov %0, %1\n\tbfi %0, %2, #16, #8", PAT, NEG1), 0x123456789affdef0UL);
    chk("bfxil x #60,#4", R2("mov %0, %1\n\tbfxil %0, %2, #60, #4", ZERO, PAT), 1);
    chk("extr x #16", R2("extr %0, %1, %2, #16", PAT, PAT2), 0xdef0fedcba987654UL);
    chk("extr w #1", R2("extr %w0, %w1, %w2, #1", ONE, MAX32), 0xbfffffffUL);
    chk("sbfiz x #4,#8", R1("sbfiz %0, %1, #4, #8", XF0), 0xffffffffffffff00UL);
    chk("ubfiz w #24,#8", R1("ubfiz %w0, %w1, #24, #8", XF0), 0xf0000000UL);
    chk("bfc-like bfi from xzr", R1("mov %0, %1\n\tbfi %0, xzr, #0, #32", NEG1), 0xffffffff00000000UL);
    chk("ror w imm", R1("ror %w0, %w1, #4", ONE), 0x10000000UL);
}

static void muldiv(void)
{
    chk("mul x", R2("mul %0, %1, %2", PAT, FIVE), 0x5b05b05b05b05ab0UL);
    chk("mul w", R2("mul %w0, %w1, %w2", MIN32, THREE), 0x80000000UL);
    chk("msub x", R3("msub %0, %1, %2, %3", FIVE, THREE, ONE), 0xfffffffffffffff2UL);
    chk("madd w wraps", R3("madd %w0, %w1, %w2, %w3", LOW32, LOW32, ONE), 2);
    chk("smulh MIN64*-1", R2("smulh %0, %1, %2", MIN64, NEG1), 0);
    chk("smulh MIN64*MIN64", R2("smulh %0, %1, %2", MIN64, MIN64), 0x4000000000000000UL);
    chk("umulh -1*-1", R2("umulh %0, %1, %2", NEG1, NEG1), 0xfffffffffffffffeUL);
    chk("smull -1*MAX32", R2("smull %0, %w1, %w2", LOW32, MAX32), 0xffffffff80000001UL);
    chk("umull", R2("umull %0, %w1, %w2", LOW32, LOW32), 0xfffffffe00000001UL);
    chk("smaddl", R3("smaddl %0, %w1, %w2, %3", NEG1, FIVE, ONE), 0xfffffffffffffffcUL);
    chk("sdiv MIN64/-1", R2("sdiv %0, %1, %2", MIN64, NEG1), 0x8000000000000000UL);
    chk("sdiv 5/0", R2("sdiv %0, %1, %2", FIVE, ZERO), 0);
    chk("udiv 5/0", R2("udiv %0, %1, %2", FIVE, ZERO), 0);
    chk("sdiv -5/3 truncates", R2("sdiv %0, %1, %2", NEG5, THREE), 0xffffffffffffffffUL);
    chk("sdiv w MIN32/-1", R2("sdiv %w0, %w1, %w2", MIN32, NEG1), 0x80000000UL);
    chk("udiv x -1/3", R2("udiv %0, %1, %2", NEG1, THREE), 0x5555555555555555UL);
    chk("udiv w -1/3", R2("udiv %w0, %w1, %w2", NEG1, THREE), 0x55555555UL);
}

static void bitops(void)
{
    chk("clz x 0", R1("clz %0, %1", ZERO), 64);
    chk("clz x 1", R1("clz %0, %1", ONE), 63);
    chk("clz w MIN32", R1("clz %w0, %w1", MIN32), 0);
    chk("clz w 0", R1("clz %w0, %w1", ZERO), 32);
    chk("cls x -1", R1("cls %0, %1", NEG1), 63);
    chk("cls x 1", R1("cls %0, %1", ONE), 62);
    chk("rbit x 1", R1("rbit %0, %1", ONE), 0x8000000000000000UL);
    chk("rbit w 1", R1("rbit %w0, %w1", ONE), 0x80000000UL);
    chk("rev x", R1("rev %0, %1", PAT), 0xf0debc9a78563412UL);
    chk("rev w", R1("rev %w0, %w1", PAT), 0xf0debc9aUL);
    chk("rev16 x", R1("rev16 %0, %1", PAT), 0x34127856bc9af0deUL);
    chk("rev32 x", R1("rev32 %0, %1", PAT), 0x78563412f0debc9aUL);
}

static u64 mem[8] __attribute__((aligned(64)));

static void fill_mem(void)
{
    for (int i = 0; i < 8; i++)
        mem[i] = PAT + (u64)i;
}

static void loads_stores(void)
{
    u64 base = (u64)mem, r, b;
    fill_mem();
    chk("ldr x [base,#8]", R1("ldr %0, [%1, #8]", base), PAT + 1);
    asm volatile("mov %1, %2\n\tldr %0, [%1, #16]!" : "=&r"(r), "=&r"(b) : "r"(base) : "memory");
    chk("ldr x pre-index value", r, PAT + 2);
    chk("ldr x pre-index writeback", b - base, 16);
    asm volatile("mov %1, %2\n\tldr %0, [%1], #24" : "=&r"(r), "=&r"(b) : "r"(base) : "memory");
    chk("ldr x post-index value", r, PAT);
    chk("ldr x post-index writeback", b - base, 24);
    chk("ldr x [base,x,lsl #3]", R2("ldr %0, [%1, %2, lsl #3]", base, THREE), PAT + 3);
    chk("ldr x [base,w,sxtw #3] negative", R2("ldr %0, [%1, %w2, sxtw #3]", base + 32, NEG1), PAT + 3);
    chk("ldr w [base,w,uxtw #2]", R2("ldr %w0, [%1, %w2, uxtw #2]", base, THREE), (PAT + 1) >> 32);
    chk("ldur x [base,#-8]", R1("ldur %0, [%1, #-8]", base + 16), PAT + 1);
    chk("ldur x unscaled #1 (aligned result)", R1("ldur %0, [%1, #1]", base + 7), PAT + 1);

    mem[0] = 0x8001800180018080UL;
    mem[1] = 0x0000000080000000UL;
    chk("ldrsb x", R1("ldrsb %0, [%1]", base), 0xffffffffffffff80UL);
    chk("ldrsb w upper zero", R1("ldrsb %w0, [%1]", base), 0xffffff80UL);
    chk("ldrb", R1("ldrb %w0, [%1]", base), 0x80);
    chk("ldrsh w [#2]", R1("ldrsh %w0, [%1, #2]", base), 0xffff8001UL);
    chk("ldrsh x [#2]", R1("ldrsh %0, [%1, #2]", base), 0xffffffffffff8001UL);
    chk("ldrh [#6]", R1("ldrh %w0, [%1, #6]", base), 0x8001);
    chk("ldrsw x", R1("ldrsw %0, [%1, #8]", base), 0xffffffff80000000UL);
    chk("ldr w zero-extends", R1("ldr %w0, [%1, #4]", base), 0x80018001UL);
    chk("ldursw x [#-4]", R1("ldursw %0, [%1, #-4]", base + 12), 0xffffffff80000000UL);

    fill_mem();
    asm volatile("strb %w1, [%0, #1]\n\tstrh %w1, [%0, #4]\n\tstr %w1, [%0, #8]" :: "r"(base), "r"(NEG1) : "memory");
    chk("strb/strh byte lanes", mem[0], (PAT & 0xffff0000ffff00ffUL) | 0x0000ffff0000ff00UL);
    chk("str w low half only", mem[1], ((PAT + 1) & 0xffffffff00000000UL) | 0xffffffffUL);
    asm volatile("str %1, [%0, %2, lsl #3]" :: "r"(base), "r"(FIVE), "r"(THREE) : "memory");
    chk("str x register offset", mem[3], 5);
    asm volatile("mov %0, %1\n\tstr %2, [%0, #-8]!" : "=&r"(b) : "r"(base + 48), "r"(THREE) : "memory");
    chk("str x pre-index negative", mem[5] + (b - base), 3 + 40);

    fill_mem();
    u64 r2;
    asm volatile("ldp %0, %1, [%2, #16]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory");
    chk("ldp x pair", r ^ r2, (PAT + 2) ^ (PAT + 3));
    asm volatile("mov %2, %3\n\tldp %0, %1, [%2], #32" : "=&r"(r), "=&r"(r2), "=&r"(b) : "r"(base) : "memory");
    chk("ldp x post-index", (r == PAT && r2 == PAT + 1) ? b - base : 0xdead, 32);
    asm volatile("mov %0, %1\n\tstp %2, %3, [%0, #-16]!" : "=&r"(b) : "r"(base + 64), "r"(ONE), "r"(FIVE) : "memory");
    chk("stp x pre-index", (mem[6] == 1 && mem[7] == 5) ? b - base : 0xdead, 48);
    mem[2] = 0x800000007fffffffUL;
    asm volatile("ldpsw %0, %1, [%2, #16]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory");
    chk("ldpsw first", r, 0x7fffffff);
    chk("ldpsw second", r2, 0xffffffff80000000UL);
    asm volatile("ldp %w0, %w1, [%2, #16]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory");
    chk("ldp w pair", r2, 0x80000000UL);

    chk("ldr literal", R1("ldr %0, 1f\n\tb 2f\n\t.balign 8\n1:\t.quad 0x0123456789abcdef\n2:", ZERO), 0x0123456789abcdefUL);
    chk("ldrsw literal", R1("ldrsw %0, 1f\n\tb 2f\n\t.balign 4\n1:\t.word 0x80000001\n2:", ZERO), 0xffffffff80000001UL);
    u64 pa, pb;
    asm volatile("adr %0, 1f\n1:\tadr %1, 1b" : "=&r"(pa), "=&r"(pb));
    chk("adr same label", pa - pb, 0);
    asm volatile("adrp %0, mem" : "=r"(pa));
    chk("adrp page of a symbol", pa, base & ~0xfffUL);

    fill_mem();
    asm volatile("stlr %1, [%0]" :: "r"(base), "r"(FIVE) : "memory");
    chk("stlr/ldar", R1("ldar %0, [%1]", base), 5);
    chk("ldarb", R1("ldarb %w0, [%1, #0]", base + 8), (PAT + 1) & 0xff);
}

static void exclusives(void)
{
    u64 base = (u64)mem, st, val;
    fill_mem();
    asm volatile("ldxr %1, [%2]\n\tadd %1, %1, #1\n\tstxr %w0, %1, [%2]" : "=&r"(st), "=&r"(val) : "r"(base) : "memory");
    chk("ldxr/stxr succeeds", st, 0);
    chk("stxr stored", mem[0], PAT + 1);
    asm volatile("ldxr %1, [%2]\n\tclrex\n\tstxr %w0, %1, [%2]" : "=&r"(st), "=&r"(val) : "r"(base + 8) : "memory");
    chk("stxr after clrex fails", st, 1);
    chk("failed stxr stored nothing", mem[1], PAT + 1);
    asm volatile("ldaxr %w1, [%2]\n\tstlxr %w0, %w3, [%2]" : "=&r"(st), "=&r"(val) : "r"(base + 16), "r"(FIVE) : "memory");
    chk("ldaxr/stlxr w succeeds", st, 0);
    chk("stlxr w stored low word", mem[2], ((PAT + 2) & 0xffffffff00000000UL) | 5);
    u64 lo, hi;
    asm volatile("ldxp %1, %2, [%3]\n\tstxp %w0, %2, %1, [%3]" : "=&r"(st), "=&r"(lo), "=&r"(hi) : "r"(base + 32) : "memory");
    chk("ldxp/stxp succeeds", st, 0);
    chk("stxp swapped pair", mem[4] - mem[5], 1);
    asm volatile("ldxrb %w1, [%2]\n\tstxrb %w0, %w3, [%2]" : "=&r"(st), "=&r"(val) : "r"(base + 48), "r"(NEG1) : "memory");
    chk("ldxrb/stxrb", st == 0 ? mem[6] & 0xff : 0xdead, 0xff);
}

static int branch_taken(int which)
{
    u64 r;
    switch (which) {
    case 0: asm volatile("mov %0, #0\n\ttbnz %1, #63, 1f\n\tmov %0, #1\n1:" : "=&r"(r) : "r"(MIN64)); break;
    case 1: asm volatile("mov %0, #0\n\ttbz %w1, #31, 1f\n\tmov %0, #1\n1:" : "=&r"(r) : "r"(MAX32)); break;
    case 2: asm volatile("mov %0, #0\n\tcbnz %w1, 1f\n\tmov %0, #1\n1:" : "=&r"(r) : "r"(0x100000000UL | ZERO)); break;
    default: asm volatile("mov %0, #0\n\tcmp %1, %2\n\tb.ge 1f\n\tmov %0, #1\n1:" : "=&r"(r) : "r"(MIN64), "r"(ONE)); break;
    }
    return (int)r;
}

static void branches(void)
{
    chk("tbnz bit 63 taken", branch_taken(0), 0);
    chk("tbz w bit 31 taken", branch_taken(1), 0);
    chk("cbnz w ignores upper half", branch_taken(2), 1);
    chk("b.ge signed MIN64 vs 1 not taken", branch_taken(3), 1);
}

void guest_main(void)
{
    flags();
    shifts_and_extends();
    bitfields();
    muldiv();
    bitops();
    loads_stores();
    exclusives();
    branches();
    printf_("selfcheck: %d cases, %d failed\n", ncases, nfailed);
    if (nfailed)
        fail("%d of %d cases failed", nfailed, ncases);
}
