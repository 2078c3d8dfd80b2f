/* xenstore: a domU that speaks the Xen PV bus by hand. It finds its xenstore ring and channel
 * through HVMOP_get_param, sends every xenstore operation (io/xs_wire.h) and prints each answer,
 * provokes the errors xenstored gives (EACCES outside its permissions, EAGAIN on a transaction
 * conflict, EINVAL/ENOSYS for malformed requests), watches a node, then connects to the vbd
 * backend as blkfront does (grant table, event channel, xenstore handshake) and sends blkif
 * requests (io/blkif.h), good and bad (one after ending foreign access to its page), then overruns the blkif ring. Last it breaks its xenstore ring on purpose: with bootargs
 * "ringidx" by moving req_prod more than a ring ahead, otherwise with an oversized message; it
 * then checks that xenstored set the interface's error field and answers nothing more.
 * With bootargs "shutdown" it only watches control/shutdown and waits (polling its ring, no
 * hypercalls) for the toolstack's request (bootscope run --shutdown-after), acknowledges it as
 * Linux does and powers off with SCHEDOP_shutdown.
 * Needs --machine xen and a --disk whose sector n starts with "bootscope disk sector n". */
#include "rt.h"

const char guest_name[] = "xenstore";

/* ---- Xen hypercalls: HVC #0xEA1, number in x16 ------------------------------------------ */

static s64 hcall(u64 nr, u64 a0, u64 a1, u64 a2)
{
    register u64 x0 asm("x0") = a0;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x16 asm("x16") = nr;
    asm volatile("hvc #0xea1" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x16) :: "memory");
    return (s64)x0;
}

#define HV_MEMORY_OP 12
#define HV_EVENT_CHANNEL_OP 32
#define HV_HVM_OP 34
#define DOMID_SELF 0x7ff0

static struct { u16 domid, pad; u32 index; u64 value; } hvm_param;
static struct { u16 dom, remote; u32 port; } alloc_unbound;
static u32 send_port;
static struct { u16 domid, size; u32 space; u64 idx, gpfn; } physmap;

static u64 hvm_get(u32 index)
{
    hvm_param.domid = DOMID_SELF;
    hvm_param.index = index;
    if (hcall(HV_HVM_OP, 1, (u64)&hvm_param, 0) != 0)
        fail("HVMOP_get_param %u", index);
    return hvm_param.value;
}

static void notify(u32 port)
{
    send_port = port;
    hcall(HV_EVENT_CHANNEL_OP, 4, (u64)&send_port, 0);
}

/* ---- the xenstore ring ------------------------------------------------------------------- */

#define XS_READ 2
#define XS_DIRECTORY 1
#define XS_GET_PERMS 3
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_TX_START 6
#define XS_TX_END 7
#define XS_GET_DOMAIN_PATH 10
#define XS_WRITE 11
#define XS_MKDIR 12
#define XS_RM 13
#define XS_SET_PERMS 14
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XS_RESET_WATCHES 21
#define XS_DIRECTORY_PART 22

#define REQ_CONS 2048
#define REQ_PROD 2052
#define RSP_CONS 2056
#define RSP_PROD 2060
#define RING_ERROR 2072

static u64 ring;
static u32 store_port;
static u32 req_id = 1;

/* What came back: the reply, and watch events that arrived before it. */
static u8 reply[4200];
static u32 reply_len, reply_type;
static char events[8][80];
static int nevents;

static void ring_put(const u8 *p, u32 n)
{
    while (n) {
        u32 cons = rd32(ring + REQ_CONS), prod = rd32(ring + REQ_PROD);
        if (prod - cons >= 1024) {
            notify(store_port);
            continue;
        }
        wr8(ring + (prod & 1023), *p++);
        dsb(sy);
        wr32(ring + REQ_PROD, prod + 1);
        n--;
    }
}

/* Take n bytes of rsp[]; 0 when xenstored has not produced them after a few notifications. */
static int ring_get(u8 *p, u32 n)
{
    for (u32 tries = 0; n; ) {
        u32 cons = rd32(ring + RSP_CONS), prod = rd32(ring + RSP_PROD);
        if (cons == prod) {
            if (++tries > 4)
                return 0;
            notify(store_port);
            continue;
        }
        *p++ = rd8(ring + 1024 + (cons & 1023));
        wr32(ring + RSP_CONS, cons + 1);
        n--;
    }
    return 1;
}

/* One request; returns 1 with the reply in reply/reply_type, 0 when nothing came back. */
static int xs(u32 type, u32 tx, const char *a, const char *b, u32 blen)
{
    u32 alen = a ? strlen(a) + 1 : 0;
    u32 hdr[4] = { type, req_id++, tx, alen + blen };
    ring_put((const u8 *)hdr, 16);
    if (a)
        ring_put((const u8 *)a, alen);
    if (b)
        ring_put((const u8 *)b, blen);
    notify(store_port);
    nevents = 0;
    for (;;) {
        u32 h[4];
        if (!ring_get((u8 *)h, 16))
            return 0;
        if (h[3] > sizeof reply)
            fail("reply of %u bytes", h[3]);
        if (!ring_get(reply, h[3]))
            return 0;
        if (h[0] == XS_WATCH_EVENT) {
            if (nevents < 8) {
                u32 k = 0;
                for (u32 i = 0; i < h[3] && k < 79; i++)
                    events[nevents][k++] = reply[i] ? (char)reply[i] : '|';
                events[nevents++][k] = 0;
            }
            continue;
        }
        reply_type = h[0];
        reply_len = h[3];
        reply[reply_len] = 0;
        return 1;
    }
}

/* The reply as text: NULs shown as '|', errors as "ERROR <name>". */
static void show(const char *what)
{
    printf_("%s: ", what);
    for (int i = 0; i < nevents; i++)
        printf_("[event %s] ", events[i]);
    if (reply_type == XS_ERROR)
        printf_("ERROR ");
    for (u32 i = 0; i < reply_len; i++) {
        if (reply_type == XS_ERROR && !reply[i])
            break;
        putc_(reply[i] ? (char)reply[i] : '|');
    }
    putc_('\n');
}

static void op(const char *what, u32 type, u32 tx, const char *a, const char *b)
{
    if (!xs(type, tx, a, b, b ? strlen(b) : 0))
        fail("%s: no reply", what);
    show(what);
}

/* Two strings as one argument block (path, then a NUL-terminated second string). */
static void op2(const char *what, u32 type, const char *a, const char *b)
{
    if (!xs(type, 0, a, b, strlen(b) + 1))
        fail("%s: no reply", what);
    show(what);
}

static int read_uint(const char *path)
{
    if (!xs(XS_READ, 0, path, NULL, 0) || reply_type == XS_ERROR)
        return -1;
    int v = 0;
    for (u32 i = 0; i < reply_len && reply[i] >= '0' && reply[i] <= '9'; i++)
        v = v * 10 + (reply[i] - '0');
    return v;
}

static void xs_write_num(const char *path, u32 v)
{
    char buf[16];
    int n = 0;
    char tmp[16];
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) && n < 15);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    if (!xs(XS_WRITE, 0, path, buf, (u32)n) || reply_type == XS_ERROR)
        fail("writing %s", path);
}

/* ---- the operations ---------------------------------------------------------------------- */

static void xenstore_ops(void)
{
    op("READ name", XS_READ, 0, "name", NULL);
    op("READ vm", XS_READ, 0, "vm", NULL);
    op("READ memory/target", XS_READ, 0, "memory/target", NULL);
    op("WRITE data/test", XS_WRITE, 0, "data/test", "hello");
    op("READ /local/domain/1/data/test", XS_READ, 0, "/local/domain/1/data/test", NULL);
    op("MKDIR data/dir", XS_MKDIR, 0, "data/dir", NULL);
    op("DIRECTORY data", XS_DIRECTORY, 0, "data", NULL);
    op2("DIRECTORY_PART data 0", XS_DIRECTORY_PART, "data", "0");
    op("GET_PERMS data/test", XS_GET_PERMS, 0, "data/test", NULL);
    if (!xs(XS_SET_PERMS, 0, "data/test", "n1\0r0", 6))
        fail("SET_PERMS: no reply");
    show("SET_PERMS data/test n1 r0");
    op("GET_PERMS data/test", XS_GET_PERMS, 0, "data/test", NULL);
    op("GET_PERMS device", XS_GET_PERMS, 0, "device", NULL);
    op("GET_DOMAIN_PATH 1", XS_GET_DOMAIN_PATH, 0, "1", NULL);

    /* a watch: one event at registration, one per change below it */
    op2("WATCH data/watched tk", XS_WATCH, "data/watched", "tk");
    op("WRITE data/watched/x", XS_WRITE, 0, "data/watched/x", "1");
    op2("UNWATCH data/watched tk", XS_UNWATCH, "data/watched", "tk");
    op("WRITE data/watched/x", XS_WRITE, 0, "data/watched/x", "2");
    op2("UNWATCH data/watched tk", XS_UNWATCH, "data/watched", "tk");

    /* transactions: a commit, then a conflict */
    op("TRANSACTION_START", XS_TX_START, 0, "", NULL);
    u32 tx = 0;
    for (u32 i = 0; i < reply_len && reply[i]; i++)
        tx = tx * 10 + (reply[i] - '0');
    op("WRITE data/txnode (in tx)", XS_WRITE, tx, "data/txnode", "committed");
    op("READ data/txnode (outside)", XS_READ, 0, "data/txnode", NULL);
    op("TRANSACTION_END T", XS_TX_END, tx, "T", NULL);
    op("READ data/txnode", XS_READ, 0, "data/txnode", NULL);
    op("TRANSACTION_START", XS_TX_START, 0, "", NULL);
    tx = 0;
    for (u32 i = 0; i < reply_len && reply[i]; i++)
        tx = tx * 10 + (reply[i] - '0');
    op("READ data/test (in tx)", XS_READ, tx, "data/test", NULL);
    op("WRITE data/test (outside)", XS_WRITE, 0, "data/test", "changed");
    op("WRITE data/other (in tx)", XS_WRITE, tx, "data/other", "x");
    op("TRANSACTION_END T", XS_TX_END, tx, "T", NULL);
    op("READ data/other", XS_READ, 0, "data/other", NULL);

    op("RM data/dir", XS_RM, 0, "data/dir", NULL);
    op("READ data/dir", XS_READ, 0, "data/dir", NULL);
    op("RESET_WATCHES", XS_RESET_WATCHES, 0, "", NULL);

    /* outside its permissions */
    op("READ /local/domain/0", XS_READ, 0, "/local/domain/0", NULL);
    op("WRITE /local/domain/0/evil", XS_WRITE, 0, "/local/domain/0/evil", "x");
    op("WRITE memory/target", XS_WRITE, 0, "memory/target", "1");
    op2("SET_PERMS memory b1", XS_SET_PERMS, "memory", "b1");

    /* malformed requests */
    if (!xs(99, 0, "name", NULL, 0))
        fail("type 99: no reply");
    show("type 99");
    if (!xs(XS_READ, 0, NULL, "name", 4))
        fail("READ without NUL: no reply");
    show("READ without NUL");
    op("READ bad//path", XS_READ, 0, "data//x", NULL);
    op("READ in unknown transaction", XS_READ, 77, "name", NULL);
}

/* ---- blkfront by hand -------------------------------------------------------------------- */

#define GRANT_GFN 0x38000UL
#define FE "device/vbd/51712"
#define BE "/local/domain/0/backend/vbd/1/51712"
#define GREF_RING 8
#define GREF_DATA 9
#define GREF_RO 10
#define GREF_IND 11

static u8 pages[4][4096] __attribute__((aligned(4096)));
#define RING_PAGE pages[0]
#define DATA_PAGE pages[1]
#define RO_PAGE pages[2]
#define IND_PAGE pages[3]

static u32 blk_port;
static u32 blk_prod;

static void grant(u32 ref, void *page, int readonly)
{
    u64 e = (GRANT_GFN << 12) + ref * 8;
    wr32(e + 4, (u32)((u64)page >> 12));
    wr16(e + 2, 0);                            /* to dom0 */
    dsb(sy);
    wr16(e, (u16)(1 | (readonly ? 4 : 0)));    /* GTF_permit_access (| GTF_readonly) */
}

/* One blkif request in the next slot; returns the response status. */
static void blk_request(u8 op, u8 nseg, u64 sector, u32 gref, u8 first, u8 last, u64 id)
{
    u8 *req = RING_PAGE + 64 + (blk_prod % 32) * 112;
    memset(req, 0, 112);
    req[0] = op;
    req[1] = nseg;
    *(u16 *)(req + 2) = 51712;
    *(u64 *)(req + 8) = id;
    *(u64 *)(req + 16) = sector;
    *(u32 *)(req + 24) = gref;
    req[28] = first;
    req[29] = last;
}

static int blk_submit(u64 id)
{
    dsb(sy);
    wr32((u64)RING_PAGE, ++blk_prod);        /* req_prod */
    notify(blk_port);
    u32 rsp_prod = rd32((u64)RING_PAGE + 8);
    if (rsp_prod != blk_prod)
        fail("blkif: rsp_prod %u after request %u", rsp_prod, blk_prod);
    u8 *rsp = RING_PAGE + 64 + ((blk_prod - 1) % 32) * 112;
    if (*(u64 *)rsp != id)
        fail("blkif: response id %lu, expected %lu", *(u64 *)rsp, id);
    return (short)*(u16 *)(rsp + 10);
}

static void blkif(void)
{
    physmap.domid = DOMID_SELF;
    physmap.space = 1;                          /* XENMAPSPACE_grant_table */
    physmap.idx = 0;
    physmap.gpfn = GRANT_GFN;
    if (hcall(HV_MEMORY_OP, 7, (u64)&physmap, 0) != 0)
        fail("add_to_physmap(grant_table)");
    grant(GREF_RING, RING_PAGE, 0);
    grant(GREF_DATA, DATA_PAGE, 0);
    grant(GREF_RO, RO_PAGE, 1);
    grant(GREF_IND, IND_PAGE, 1);
    /* SHARED_RING_INIT: req_event = rsp_event = 1 */
    wr32((u64)RING_PAGE + 4, 1);
    wr32((u64)RING_PAGE + 12, 1);
    alloc_unbound.dom = DOMID_SELF;
    alloc_unbound.remote = 0;
    if (hcall(HV_EVENT_CHANNEL_OP, 6, (u64)&alloc_unbound, 0) != 0)
        fail("alloc_unbound");
    blk_port = alloc_unbound.port;
    printf_("backend state %d, frontend state %d\n", read_uint(BE "/state"), read_uint(FE "/state"));
    printf_("max indirect segments %d\n", read_uint(BE "/feature-max-indirect-segments"));
    xs_write_num(FE "/ring-ref", GREF_RING);
    xs_write_num(FE "/event-channel", blk_port);
    if (!xs(XS_WRITE, 0, FE "/protocol", "arm-abi", 7))
        fail("protocol");
    xs_write_num(FE "/state", 3);               /* Initialised */
    printf_("backend state %d, sectors %d, sector-size %d, info %d, feature-flush-cache %d\n", read_uint(BE "/state"), read_uint(BE "/sectors"),
            read_uint(BE "/sector-size"), read_uint(BE "/info"), read_uint(BE "/feature-flush-cache"));
    xs_write_num(FE "/state", 4);               /* Connected */

    blk_request(0, 1, 3, GREF_DATA, 0, 7, 101);
    int st = blk_submit(101);
    DATA_PAGE[23] = 0;
    printf_("read sector 3: status %d, data \"%s\"\n", st, (char *)DATA_PAGE);
    memset(DATA_PAGE, 'W', 512);
    blk_request(1, 1, 5, GREF_DATA, 0, 0, 102);
    printf_("write sector 5: status %d\n", blk_submit(102));
    memset(DATA_PAGE, 0, 512);
    blk_request(0, 1, 5, GREF_DATA, 0, 0, 103);
    st = blk_submit(103);
    printf_("read sector 5 back: status %d, first byte %c\n", st, DATA_PAGE[0]);
    blk_request(3, 0, 0, 0, 0, 0, 104);
    printf_("flush: status %d\n", blk_submit(104));
    /* indirect read of sectors 8-15 through one segment listed in the indirect page */
    *(u32 *)IND_PAGE = GREF_DATA;
    IND_PAGE[4] = 0;
    IND_PAGE[5] = 7;
    {
        u8 *req = RING_PAGE + 64 + (blk_prod % 32) * 112;
        memset(req, 0, 112);
        req[0] = 6;                             /* BLKIF_OP_INDIRECT */
        req[1] = 0;                             /* indirect_op: read */
        *(u16 *)(req + 2) = 1;                  /* nr_segments */
        *(u64 *)(req + 8) = 105;
        *(u64 *)(req + 16) = 8;
        *(u16 *)(req + 24) = 51712;
        *(u32 *)(req + 28) = GREF_IND;
    }
    st = blk_submit(105);
    DATA_PAGE[23] = 0;
    printf_("indirect read sector 8: status %d, data \"%s\"\n", st, (char *)DATA_PAGE);
    blk_request(0, 1, 3, 1000000, 0, 7, 106);
    printf_("read with a bad grant reference: status %d\n", blk_submit(106));
    blk_request(0, 1, 3, GREF_RO, 0, 7, 107);
    printf_("read into a read-only grant: status %d\n", blk_submit(107));
    blk_request(0, 1, 3, 20, 0, 7, 108);
    printf_("read into an unused grant entry: status %d\n", blk_submit(108));
    blk_request(0, 1, 1u << 30, GREF_DATA, 0, 7, 109);
    printf_("read past the end: status %d\n", blk_submit(109));
    blk_request(0, 12, 3, GREF_DATA, 0, 7, 110);
    printf_("read with 12 segments: status %d\n", blk_submit(110));
    blk_request(0, 1, 3, GREF_DATA, 7, 2, 111);
    printf_("read with last_sect < first_sect: status %d\n", blk_submit(111));
    blk_request(9, 0, 0, 0, 0, 0, 112);
    printf_("operation 9: status %d\n", blk_submit(112));
    /* the frontend ends foreign access to its data page (grant_table.h: flags to 0), then names it */
    blk_request(0, 1, 3, GREF_DATA, 0, 7, 113);
    wr16((GRANT_GFN << 12) + GREF_DATA * 8, 0);
    dsb(sy);
    printf_("read after ending access to its grant: status %d\n", blk_submit(113));
    /* more requests than the ring holds: blkback stops serving the ring */
    wr32((u64)RING_PAGE, blk_prod + 100);
    notify(blk_port);
    printf_("req_prod 100 ahead: rsp_prod %u\n", rd32((u64)RING_PAGE + 8));
}

/* ---- breaking the ring ------------------------------------------------------------------- */

/* Find /chosen/bootargs in the DTB (names in the strings block; the walker is deliberately tiny). */
static const char *bootargs(void)
{
    const u8 *d = (const u8 *)plat.dtb;
    if (!d)
        return "";
    u32 off_struct = __builtin_bswap32(*(const u32 *)(d + 8));
    u32 off_strings = __builtin_bswap32(*(const u32 *)(d + 12));
    const u32 *p = (const u32 *)(d + off_struct);
    for (int guard = 0; guard < 100000; guard++) {
        u32 tok = __builtin_bswap32(*p++);
        if (tok == 1) {                         /* BEGIN_NODE: skip the name */
            const char *n = (const char *)p;
            p += (strlen(n) + 4) / 4;
        } else if (tok == 3) {                  /* PROP: len, nameoff, value */
            u32 len = __builtin_bswap32(p[0]);
            const char *name = (const char *)d + off_strings + __builtin_bswap32(p[1]);
            if (strcmp(name, "bootargs") == 0)
                return (const char *)(p + 2);
            p += 2 + (len + 3) / 4;
        } else if (tok == 9) {
            break;
        }
    }
    return "";
}

static void break_ring(void)
{
    if (strcmp(bootargs(), "ringidx") == 0) {
        u32 cons = rd32(ring + REQ_CONS);
        wr32(ring + REQ_PROD, cons + 2000);     /* more than a ring ahead */
        notify(store_port);
        printf_("req_prod 2000 ahead: ring error %u\n", rd32(ring + RING_ERROR));
    } else {
        u32 hdr[4] = { XS_WRITE, req_id++, 0, 5000 };   /* payload > XENSTORE_PAYLOAD_MAX */
        ring_put((const u8 *)hdr, 16);
        notify(store_port);
        printf_("5000-byte message: ring error %u\n", rd32(ring + RING_ERROR));
    }
    wr32(ring + REQ_CONS, rd32(ring + REQ_PROD));   /* what a reconnecting client would do */
    printf_("a READ afterwards: %s\n", xs(XS_READ, 0, "name", NULL, 0) ? "answered" : "no reply");
}

/* xl shutdown as a domU sees it: a watch event, then the request read and cleared in a transaction. */
static void wait_for_shutdown(void)
{
    op2("WATCH control/shutdown sd", XS_WATCH, "control/shutdown", "sd");
    for (int round = 0; round < 2; round++) {
        /* first the event every watch gets when registered, then the toolstack's */
        if (round == 1) {
            puts_("waiting for the toolstack\n");
            u32 cons = rd32(ring + RSP_CONS);
            while (rd32(ring + RSP_PROD) == cons)
                ;
        }
        u32 h[4];
        if (!ring_get((u8 *)h, 16) || h[3] >= sizeof reply || !ring_get(reply, h[3]))
            fail("no watch event");
        for (u32 i = 0; i < h[3]; i++)
            if (!reply[i])
                reply[i] = '|';
        reply[h[3]] = 0;
        printf_("type %u: %s\n", h[0], (char *)reply);
    }
    op("TRANSACTION_START", XS_TX_START, 0, "", NULL);
    u32 tx = 0;
    for (u32 i = 0; i < reply_len && reply[i]; i++)
        tx = tx * 10 + (reply[i] - '0');
    op("READ control/shutdown (in tx)", XS_READ, tx, "control/shutdown", NULL);
    op("WRITE control/shutdown \"\" (in tx)", XS_WRITE, tx, "control/shutdown", "");
    op("TRANSACTION_END T", XS_TX_END, tx, "T", NULL);
    static u32 reason;                          /* SHUTDOWN_poweroff */
    puts_("SCHEDOP_shutdown poweroff\n");
    hcall(29, 2, (u64)&reason, 0);
    fail("SCHEDOP_shutdown returned");
}

void guest_main(void)
{
    store_port = (u32)hvm_get(2);               /* HVM_PARAM_STORE_EVTCHN */
    ring = hvm_get(1) << 12;                    /* HVM_PARAM_STORE_PFN */
    printf_("xenstore ring at 0x%lx, event channel %u\n", ring, store_port);
    if (strcmp(bootargs(), "shutdown") == 0)
        wait_for_shutdown();
    xenstore_ops();
    blkif();
    break_ring();
}
