/* Console output: polled PL011/SBSA TX (wait TXFF clear, write DR), or, when the DTB names no UART
 * but a Xen hypervisor node, Xen's console: console_io, which Xen allows the console domain only
 * (a dom0less domU); when Xen refuses it (an xl domU), the PV console ring the toolstack set up
 * (public/io/console.h, found through HVMOP_get_param), as Linux's hvc_xen does. printf_ supports
 * %[0][width][l]{d,u,x,s,c,p}. */
#include "rt.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_TXFF (1u << 5)

int xen_console;   /* set by fdt_scan */
static char xbuf[128];
static unsigned xlen;

static u64 xen_hypercall(u64 nr, u64 a0, u64 a1, u64 a2)
{
    register u64 x0 asm("x0") = a0;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x16 asm("x16") = nr;
    asm volatile("hvc #0xea1" : "+r"(x0), "+r"(x1), "+r"(x2) : "r"(x16) : "memory");
    return x0;
}

/* The PV console: xencons_interface { out[2048] at 1024; out_cons, out_prod at 3080, 3084 } in the
 * page HVM_PARAM_CONSOLE_PFN names, notified through HVM_PARAM_CONSOLE_EVTCHN. */
static struct { u64 ring; u32 port; int tried; } pvcons;
static struct { u16 domid, pad; u32 index; u64 value; } hvm_param;

static u64 hvm_param_get(u32 index)
{
    hvm_param.domid = 0x7ff0;   /* DOMID_SELF */
    hvm_param.index = index;
    hvm_param.value = 0;
    if (xen_hypercall(34, 1, (u64)&hvm_param, 0) != 0)   /* HVMOP_get_param */
        return 0;
    return hvm_param.value;
}

static void pv_console_write(const char *p, unsigned n)
{
    if (!pvcons.tried) {
        pvcons.tried = 1;
        pvcons.ring = hvm_param_get(17) << 12;            /* HVM_PARAM_CONSOLE_PFN */
        pvcons.port = (u32)hvm_param_get(18);              /* HVM_PARAM_CONSOLE_EVTCHN */
    }
    if (!pvcons.ring || !pvcons.port)
        return;   /* no console at all */
    volatile u32 *cons = (volatile u32 *)(pvcons.ring + 3080), *prod = (volatile u32 *)(pvcons.ring + 3084);
    volatile char *out = (volatile char *)(pvcons.ring + 1024);
    static u32 port_arg;
    port_arg = pvcons.port;
    for (unsigned i = 0; i < n; i++) {
        while (*prod - *cons >= 2048)   /* full: let the backend drain it */
            xen_hypercall(32, 4, (u64)&port_arg, 0);
        out[*prod & 2047] = p[i];
        dsb(st);
        *prod = *prod + 1;
    }
    dsb(st);
    xen_hypercall(32, 4, (u64)&port_arg, 0);   /* EVTCHNOP_send */
}

static void xen_flush(void)
{
    if (!pvcons.tried && xen_hypercall(18, 0, xlen, (u64)xbuf) == 0) {   /* console_io CONSOLEIO_write */
        xlen = 0;
        return;
    }
    pv_console_write(xbuf, xlen);
    xlen = 0;
}

void putc_(char c)
{
    if (plat.uart) {
        while (rd32(plat.uart + UART_FR) & FR_TXFF)
            ;
        wr32(plat.uart + UART_DR, (u8)c);
    } else if (xen_console) {
        xbuf[xlen++] = c;
        if (c == '\n' || xlen == sizeof xbuf)
            xen_flush();
    }
}

void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void put_num(u64 v, unsigned base, int neg, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        buf[n++] = '-';
    while (width-- > n)
        putc_(pad);
    while (n)
        putc_(buf[--n]);
}

void vprintf_(const char *fmt, __builtin_va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc_(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            lng = 1, fmt++;
        switch (*fmt) {
        case 'd': {
            s64 v = lng ? __builtin_va_arg(ap, s64) : __builtin_va_arg(ap, int);
            put_num(v < 0 ? -(u64)v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            put_num(lng ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, unsigned), 10, 0, width, pad);
            break;
        case 'x':
            put_num(lng ? __builtin_va_arg(ap, u64) : __builtin_va_arg(ap, unsigned), 16, 0, width, pad);
            break;
        case 'p':
            puts_("0x");
            put_num((u64)__builtin_va_arg(ap, void *), 16, 0, width, pad);
            break;
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            puts_(s ? s : "(null)");
            break;
        }
        case 'c':
            putc_((char)__builtin_va_arg(ap, int));
            break;
        case '%':
            putc_('%');
            break;
        default:
            putc_('%');
            putc_(*fmt);
            if (!*fmt)
                return;
        }
    }
}

void printf_(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vprintf_(fmt, ap);
    __builtin_va_end(ap);
}
