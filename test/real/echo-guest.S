// A tiny guest for the input tests: prints "echo>", then echoes every byte the PL011 receives
// (polling FR.RXFE) until it reads 'q', and powers off with PSCI SYSTEM_OFF (HVC).
        .globl _start
_start:
        ldr     x1, =0x09000000         // PL011 on QEMU virt / the kvm machine
        adr     x2, banner
1:      ldrb    w0, [x2], #1
        cbz     w0, 2f
        str     w0, [x1]
        b       1b
2:      ldr     w3, [x1, #0x18]         // FR
        tbnz    w3, #4, 2b              // RXFE: nothing received yet
        ldr     w0, [x1]                // DR
        and     w0, w0, #0xff
        str     w0, [x1]
        cmp     w0, #'q'
        b.ne    2b
        ldr     x0, =0x84000008         // PSCI SYSTEM_OFF
        hvc     #0
3:      b       3b
banner: .asciz  "echo>"
        .balign 8
