/* Console output: polled PL011/SBSA TX (wait TXFF clear, write DR), or Xen console_io when the
 * DTB names no UART but a Xen hypervisor node. printf_ supports %[0][width][l]{d,u,x,s,c,p}. */
#include "rt.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_TXFF (1u << 5)

int xen_console;   /* set by fdt_scan */
static char xbuf[128];
static unsigned xlen;

static void xen_flush(void)
{
    register u64 x0 asm("x0") = 0;          /* CONSOLEIO_write */
    register u64 x1 asm("x1") = xlen;
    register u64 x2 asm("x2") = (u64)xbuf;
    register u64 x16 asm("x16") = 18;       /* __HYPERVISOR_console_io */
    asm volatile("hvc #0xea1" : "+r"(x0), "+r"(x1), "+r"(x2) : "r"(x16) : "memory");
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
