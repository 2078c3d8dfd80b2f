/* bootscope guest runtime: entry from start.S, exception dispatch, PSCI, PASS/FAIL. */
#include "rt.h"

struct platform plat;
sync_hook_t sync_hook;
irq_hook_t irq_hook;

static const char *const kind_names[16] = {
    "sync/EL1t", "irq/EL1t", "fiq/EL1t", "serror/EL1t",
    "sync/EL1h", "irq/EL1h", "fiq/EL1h", "serror/EL1h",
    "sync/EL0-64", "irq/EL0-64", "fiq/EL0-64", "serror/EL0-64",
    "sync/EL0-32", "irq/EL0-32", "fiq/EL0-32", "serror/EL0-32",
};

/* Where QEMU virt puts the DTB for a bare-metal ELF (which gets no x0): the base of RAM. */
#define RAM_BASE_DTB 0x40000000UL

void rt_main(u64 dtb)
{
    if (!dtb || *(volatile u32 *)dtb != 0xedfe0dd0)   /* FDT magic, big-endian */
        dtb = RAM_BASE_DTB;
    fdt_scan(dtb);
    printf_("bootscope guest %s\n", guest_name);
    guest_main();
    pass();
}

__attribute__((weak)) void guest_secondary(int cpu)
{
    (void)cpu;
    park();
}

void rt_secondary(u64 cpu)
{
    guest_secondary((int)cpu);
    park();
}

void exc_dispatch(struct frame *f, u64 kind)
{
    int k = (int)(kind & 15);
    if ((k & 3) == 1 && irq_hook) {
        irq_hook(f);
        return;
    }
    if ((k & 3) == 0 && sync_hook && sync_hook(f, k))
        return;
    printf_("unexpected exception %s on cpu%d: EC=0x%02lx ESR=0x%08lx FAR=0x%016lx ELR=0x%016lx\n",
            kind_names[k], this_cpu(), ESR_EC(f->esr), f->esr, f->far, f->elr);
    fail("unexpected exception %s", kind_names[k]);
}

u64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3)
{
    register u64 x0 asm("x0") = fn;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x3 asm("x3") = a3;
    if (plat.psci_smc)
        asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) :: "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
    else
        asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) :: "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
    return x0;
}

void system_off(void)
{
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    puts_("SYSTEM_OFF returned\n");
    for (;;)
        wfi();
}

void pass(void)
{
    printf_("PASS %s\n", guest_name);
    system_off();
}

void vprintf_(const char *fmt, __builtin_va_list ap);

void fail(const char *fmt, ...)
{
    __builtin_va_list ap;
    printf_("FAIL %s: ", guest_name);
    __builtin_va_start(ap, fmt);
    vprintf_(fmt, ap);
    __builtin_va_end(ap);
    putc_('\n');
    system_off();
}

int this_cpu(void)
{
    u64 mpidr = SYSREG_READ(mpidr_el1) & 0xff00ffffffUL;
    for (int i = 0; i < plat.ncpus; i++)
        if (plat.mpidr[i] == mpidr)
            return i;
    return (int)(mpidr & 0xff);
}

void *memset(void *d, int c, unsigned long n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

unsigned long strlen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}
