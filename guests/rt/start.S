/*
 * bootscope guest runtime: entry, per-CPU stacks, BSS, exception vectors.
 *
 * The image starts with an arm64 Linux Image header so that QEMU's -kernel and
 * bootscope's loader both boot it by the Linux boot protocol: placed at
 * RAM base + text_offset (0x80000, so 0x40080000 on QEMU virt and on Xen's map),
 * entered at EL1 with the MMU off, DAIF masked and x0 = DTB address.
 */
#define FRAME_SIZE  (36 * 8)
#define STACK_SIZE  8192
#define MAX_CPUS    8

        .section .text.head, "ax"
        .global _start
_start:
        b       primary_entry               /* code0 */
        .word   0                           /* code1 */
        .quad   0x80000                     /* text_offset */
        .quad   _image_size                 /* image_size: file + BSS + stacks */
        .quad   0x2                         /* flags: LE, 4K pages, 2 MiB-aligned base */
        .quad   0, 0, 0                     /* res2..res4 */
        .ascii  "ARM\x64"                   /* magic at 0x38 */
        .word   0                           /* res5 (no PE header) */

primary_entry:
        mov     x19, x0                     /* DTB address */
        adrp    x1, __bss_start
        add     x1, x1, :lo12:__bss_start
        adrp    x2, __bss_end
        add     x2, x2, :lo12:__bss_end
1:      cmp     x1, x2
        b.hs    2f
        str     xzr, [x1], #8
        b       1b
2:      mov     x0, #0                      /* CPU index 0 */
        bl      setup_cpu
        mov     x0, x19
        bl      rt_main                     /* never returns */
        b       park

/* PSCI CPU_ON entry: x0 = context id = CPU index */
        .global secondary_entry
secondary_entry:
        mov     x19, x0
        bl      setup_cpu
        mov     x0, x19
        bl      rt_secondary                /* never returns */
        b       park

/* setup_cpu(x0 = index): SP_EL1 = top of this CPU's stack, VBAR_EL1 = vectors */
setup_cpu:
        msr     spsel, #1
        adrp    x1, cpu_stacks
        add     x1, x1, :lo12:cpu_stacks
        add     x2, x0, #1
        mov     x3, #STACK_SIZE
        madd    x1, x2, x3, x1
        mov     sp, x1
        adrp    x1, vectors
        add     x1, x1, :lo12:vectors
        msr     vbar_el1, x1
        isb
        ret

        .global park
park:   wfi
        b       park

/*
 * run_el0(fn, sp_el0, arg): runs fn(arg) at EL0t. It comes back here when the EL0
 * code issues SVC #0xfff: the exception handler then sets ELR to el0_return at EL1h.
 */
        .global run_el0
run_el0:
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        msr     sp_el0, x1
        msr     elr_el1, x0
        msr     spsr_el1, xzr               /* EL0t, interrupts unmasked */
        mov     x0, x2
        mov     x30, xzr
        isb
        eret
        .global el0_return
el0_return:                                 /* x0 = value passed by the EL0 code in x0 */
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     x29, x30, [sp], #96
        ret

/* Exception vectors: save a full frame, call exc_dispatch(frame, kind), restore, ERET. */
.macro VENTRY kind
        .balign 128
        sub     sp, sp, #FRAME_SIZE
        stp     x0, x1, [sp, #0]
        mov     x1, #\kind
        b       exc_common
.endm

        .section .text.vectors, "ax"
        .balign 2048
vectors:
        VENTRY  0
        VENTRY  1
        VENTRY  2
        VENTRY  3
        VENTRY  4
        VENTRY  5
        VENTRY  6
        VENTRY  7
        VENTRY  8
        VENTRY  9
        VENTRY  10
        VENTRY  11
        VENTRY  12
        VENTRY  13
        VENTRY  14
        VENTRY  15

exc_common:
        stp     x2, x3, [sp, #16]
        stp     x4, x5, [sp, #32]
        stp     x6, x7, [sp, #48]
        stp     x8, x9, [sp, #64]
        stp     x10, x11, [sp, #80]
        stp     x12, x13, [sp, #96]
        stp     x14, x15, [sp, #112]
        stp     x16, x17, [sp, #128]
        stp     x18, x19, [sp, #144]
        stp     x20, x21, [sp, #160]
        stp     x22, x23, [sp, #176]
        stp     x24, x25, [sp, #192]
        stp     x26, x27, [sp, #208]
        stp     x28, x29, [sp, #224]
        mrs     x2, elr_el1
        stp     x30, x2, [sp, #240]         /* x30, elr */
        mrs     x2, spsr_el1
        mrs     x3, esr_el1
        stp     x2, x3, [sp, #256]          /* spsr, esr */
        mrs     x2, far_el1
        mrs     x3, sp_el0
        stp     x2, x3, [sp, #272]          /* far, sp_el0 */
        mov     x0, sp
        bl      exc_dispatch
        ldp     x30, x2, [sp, #240]
        msr     elr_el1, x2
        ldp     x2, x3, [sp, #256]
        msr     spsr_el1, x2
        ldp     x2, x3, [sp, #272]
        msr     sp_el0, x3
        ldp     x2, x3, [sp, #16]
        ldp     x4, x5, [sp, #32]
        ldp     x6, x7, [sp, #48]
        ldp     x8, x9, [sp, #64]
        ldp     x10, x11, [sp, #80]
        ldp     x12, x13, [sp, #96]
        ldp     x14, x15, [sp, #112]
        ldp     x16, x17, [sp, #128]
        ldp     x18, x19, [sp, #144]
        ldp     x20, x21, [sp, #160]
        ldp     x22, x23, [sp, #176]
        ldp     x24, x25, [sp, #192]
        ldp     x26, x27, [sp, #208]
        ldp     x28, x29, [sp, #224]
        ldp     x0, x1, [sp, #0]
        add     sp, sp, #FRAME_SIZE
        eret

        .section .bss.stacks, "aw", %nobits
        .balign 16
cpu_stacks:
        .space  STACK_SIZE * MAX_CPUS
