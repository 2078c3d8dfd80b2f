/* bootscope guest runtime: shared declarations. */
#ifndef RT_H
#define RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef signed int s32;
typedef signed long s64;
typedef unsigned long uptr;

#define MAX_CPUS 8
#define NULL ((void *)0)

/* MMIO accessors: one plain LDR/STR each, like Linux's __raw_readl/__raw_writel. */
static inline u32 rd32(u64 a) { u32 v; asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void wr32(u64 a, u32 v) { asm volatile("str %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline u64 rd64(u64 a) { u64 v; asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void wr64(u64 a, u64 v) { asm volatile("str %0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline u8 rd8(u64 a) { u8 v; asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void wr8(u64 a, u8 v) { asm volatile("strb %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }
static inline u16 rd16(u64 a) { u16 v; asm volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline void wr16(u64 a, u16 v) { asm volatile("strh %w0, [%1]" :: "rZ"(v), "r"(a) : "memory"); }

#define STR_(x) #x
#define SYSREG_READ(name) ({ u64 __v; asm volatile("mrs %0, " STR_(name) : "=r"(__v)); __v; })
#define SYSREG_WRITE(name, v) asm volatile("msr " STR_(name) ", %x0" :: "rZ"((u64)(v)) : "memory")
#define isb() asm volatile("isb" ::: "memory")
#define dsb(opt) asm volatile("dsb " #opt ::: "memory")
#define barrier() asm volatile("" ::: "memory")
#define irq_enable() asm volatile("msr daifclr, #2" ::: "memory")
#define irq_disable() asm volatile("msr daifset, #2" ::: "memory")
#define wfi() asm volatile("wfi" ::: "memory")

/* What the DTB told us about the platform (filled by fdt_scan before guest_main runs). */
struct platform {
    u64 dtb;
    u64 uart;              /* 0 when the DTB names no UART */
    int uart_sbsa;         /* compatible "arm,sbsa-uart": only the SBSA register subset */
    u32 uart_intid;
    u32 uart_clk_hz;       /* from the clocks phandle (0 when unknown) */
    u32 uart_speed;        /* current-speed (SBSA) */
    int gic_version;       /* 2 or 3, 0 when none */
    u64 gicd, gicc, gicr;  /* GICv2 CPU interface in gicc, GICv3 first redistributor in gicr */
    u64 gicc_size, gicr_size, gicr_stride;
    u32 timer_intid[4];    /* sec-phys, phys, virt, hyp-phys INTIDs */
    int psci_smc;          /* PSCI conduit: 0 = HVC, 1 = SMC */
    int has_psci;
    int ncpus;
    u64 mpidr[MAX_CPUS];   /* /cpus reg values, ascending */
    u64 mem_base, mem_size;
};
extern struct platform plat;

/* Exception frame saved by the vectors (layout fixed by start.S). */
struct frame {
    u64 x[31];
    u64 elr, spsr, esr, far, sp_el0;
};
/* Vector kinds: 0-3 current EL SP0, 4-7 current EL SPx, 8-11 lower EL AArch64, 12-15 AArch32;
 * within each group sync, IRQ, FIQ, SError. */
#define KIND_SYNC_SPX 4
#define KIND_IRQ_SPX 5
#define KIND_SYNC_EL0 8
#define KIND_IRQ_EL0 9
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)

/* A hook returns 1 when it handled the exception (and may edit the frame). */
typedef int (*sync_hook_t)(struct frame *f, int kind);
typedef void (*irq_hook_t)(struct frame *f);
extern sync_hook_t sync_hook;
extern irq_hook_t irq_hook;

/* Provided by each guest. */
extern const char guest_name[];
void guest_main(void);
void guest_secondary(int cpu);   /* guests that start secondaries define it */

/* runtime */
void fdt_scan(u64 dtb);
const void *fdt_find_compatible(const char *compat, const u32 **reg, int *reg_len); /* raw helper */
void putc_(char c);
void puts_(const char *s);
void printf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pass(void) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void system_off(void) __attribute__((noreturn));
u64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3);
int this_cpu(void);          /* index into plat.mpidr */
void park(void) __attribute__((noreturn));
void secondary_entry(void);
u64 run_el0(void (*fn)(u64), u64 sp, u64 arg);
void el0_return(void);
static inline void *el0_return_addr(void) { return (void *)el0_return; }
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
int strcmp(const char *a, const char *b);
unsigned long strlen(const char *s);

#define PSCI_VERSION      0x84000000UL
#define PSCI_CPU_OFF      0x84000002UL
#define PSCI_CPU_ON       0xC4000003UL
#define PSCI_AFFINITY_INFO 0xC4000004UL
#define PSCI_SYSTEM_OFF   0x84000008UL
#define PSCI_FEATURES     0x8400000AUL

/* GIC (gic.c): version from the DTB */
void gic_init_dist(void);            /* boot CPU, once */
void gic_init_cpu(void);             /* every CPU, own interface/redistributor */
void gic_enable_private(u32 intid);  /* SGI/PPI on the calling CPU, priority 0xa0 */
void gic_enable_spi(u32 intid, int cpu);   /* SPI routed to one CPU (group 1 on v3), priority 0xa0 */
u32 gic_ack(void);                   /* raw IAR value */
void gic_eoi(u32 iar);
void gic_send_sgi(u32 intid, int target_cpu);
/* INTID of an IAR value: GICv2 keeps the SGI source CPU in bits [12:10] */
#define GIC_INTID(iar) (plat.gic_version == 2 ? (iar) & 0x3ff : (iar) & 0xffffff)
#define GIC_SPURIOUS(iar) (GIC_INTID(iar) >= 1020 && GIC_INTID(iar) <= 1023)

#endif
