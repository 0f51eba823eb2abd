/*
 * A libindi (1.9.9, Debian's libindi-dev) driver that sends BLOBs as fast as the server takes
 * them, through the normal IDSetBLOB path: from a buffer allocated with IDSharedBlobAlloc, so
 * on a unix socket (indiserver >= 1.9.7, indi-node) libindi passes it as a shared-memory
 * attachment, and on pipes it encodes it in base64 itself.
 *
 * Device "Bench" (as bench/driver.mjs, so bench/client.mjs drives it): GO.GO On sends
 * $BENCH_COUNT frames of $BENCH_SIZE bytes (default 1 and 1 MiB) on BLOB.DATA (format .fits);
 * SEND.COUNT and SEND.SIZE (bytes) send COUNT frames of SIZE bytes. SENT.COUNT counts the frames
 * sent. The content is fixed (a FITS header then a byte pattern), so two servers relaying it
 * must deliver identical bytes. Build: see build.sh.
 */
#include <indidevapi.h>
#include <indidriver.h>
#include <sharedblob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE "Bench"

static IBLOB data;
static IBLOBVectorProperty frame;
static INumber send_numbers[2];
static INumberVectorProperty send_vector;
static ISwitch go;
static ISwitchVectorProperty go_vector;
static INumber sent_number;
static INumberVectorProperty sent_vector;
static unsigned char *buffer;
static size_t buffer_size;

static long env_number(const char *name, long fallback)
{
    const char *text = getenv(name);
    return text && *text ? atol(text) : fallback;
}

static size_t bench_size(void)
{
    return (size_t)env_number("BENCH_SIZE", 1 << 20);
}

static void fill(unsigned char *out, size_t size);

/* The frame buffer, ready before the first GO (filling it is not what is measured). */
static int prepare(size_t size)
{
    if (size == buffer_size)
        return 1;
    if (buffer)
        IDSharedBlobFree(buffer);
    buffer = IDSharedBlobAlloc(size);
    buffer_size = buffer ? size : 0;
    if (buffer)
        fill(buffer, size);
    return buffer != NULL;
}

static void define(void)
{
    static int ready;
    if (ready)
        return;
    ready = 1;
    IUFillBLOB(&data, "DATA", "Data", ".fits");
    IUFillBLOBVector(&frame, &data, 1, DEVICE, "BLOB", "Frame", "Main", IP_RO, 60, IPS_IDLE);
    IUFillSwitch(&go, "GO", "Go", ISS_OFF);
    IUFillSwitchVector(&go_vector, &go, 1, DEVICE, "GO", "Go", "Main", IP_RW, ISR_NOFMANY, 0, IPS_IDLE);
    IUFillNumber(&send_numbers[0], "COUNT", "Frames", "%.0f", 0, 1e9, 1, 1);
    IUFillNumber(&send_numbers[1], "SIZE", "Bytes", "%.0f", 1, 1 << 30, 1, 1 << 20);
    IUFillNumberVector(&send_vector, send_numbers, 2, DEVICE, "SEND", "Send", "Main", IP_RW, 0, IPS_IDLE);
    IUFillNumber(&sent_number, "COUNT", "Frames", "%.0f", 0, 1e12, 1, 0);
    IUFillNumberVector(&sent_vector, &sent_number, 1, DEVICE, "SENT", "Sent", "Main", IP_RO, 0, IPS_IDLE);
    prepare(bench_size());
}

/* A FITS primary header (BITPIX 8, one axis) then bytes (i * 31 + 7) mod 251. */
static void fill(unsigned char *out, size_t size)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (unsigned char)((i * 31 + 7) % 251);
    if (size < 2880)
        return;
    char header[2881];
    memset(header, ' ', 2880);
    const char *cards[] = { "SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    1", NULL };
    int n = 0;
    for (; cards[n]; n++)
        memcpy(header + 80 * n, cards[n], strlen(cards[n]));
    char card[81];
    snprintf(card, sizeof card, "NAXIS1  = %20zu", size - 2880);
    memcpy(header + 80 * n++, card, strlen(card));
    memcpy(header + 80 * n, "END", 3);
    memcpy(out, header, 2880);
}

void ISGetProperties(const char *dev)
{
    if (dev && *dev && strcmp(dev, DEVICE))
        return;
    define();
    IDDefSwitch(&go_vector, NULL);
    IDDefNumber(&send_vector, NULL);
    IDDefNumber(&sent_vector, NULL);
    IDDefBLOB(&frame, NULL);
}

/* Sends from a thread of its own while the event loop's thread waits for it: libindi 1.9.9 waits
 * for the server's pingReply to each BLOB (flow control); from the event loop's thread it would
 * wait forever, and from another thread it reads stdin itself, which the event loop must then
 * not read at the same time. */
static void *sender(void *arg)
{
    (void)arg;
    long count = (long)send_numbers[0].value;
    data.blob = buffer;
    data.bloblen = data.size = (int)buffer_size;
    frame.s = IPS_OK;
    for (long i = 0; i < count; i++)
        IDSetBLOB(&frame, NULL);
    sent_number.value += count;
    IDSetNumber(&sent_vector, NULL);
    return NULL;
}

/* Sends `count` frames of `size` bytes, then reports on `done` (set Busy meanwhile). */
static void send_frames(long count, size_t size, void (*done)(void))
{
    if (!prepare(size))
    {
        IDMessage(DEVICE, "cannot allocate %zu bytes", size);
        return;
    }
    send_numbers[0].value = count;
    send_numbers[1].value = size;
    pthread_t thread;
    pthread_create(&thread, NULL, sender, NULL);
    pthread_join(thread, NULL);
    done();
}

static void send_done(void)
{
    send_vector.s = IPS_OK;
    IDSetNumber(&send_vector, NULL);
}

static void go_done(void)
{
    go.s = ISS_OFF;
    go_vector.s = IPS_OK;
    IDSetSwitch(&go_vector, NULL);
}

void ISNewNumber(const char *dev, const char *name, double values[], char *names[], int n)
{
    if (strcmp(dev, DEVICE) || strcmp(name, send_vector.name))
        return;
    define();
    IUUpdateNumber(&send_vector, values, names, n);
    send_vector.s = IPS_BUSY;
    IDSetNumber(&send_vector, NULL);
    send_frames((long)send_numbers[0].value, (size_t)send_numbers[1].value, send_done);
}

void ISNewSwitch(const char *dev, const char *name, ISState *states, char *names[], int n)
{
    (void)states, (void)names, (void)n;
    if (strcmp(dev, DEVICE) || strcmp(name, go_vector.name))
        return;
    define();
    go_vector.s = IPS_BUSY;
    IDSetSwitch(&go_vector, NULL);
    send_frames(env_number("BENCH_COUNT", 1), bench_size(), go_done);
}

void ISNewText(const char *dev, const char *name, char *texts[], char *names[], int n)
{
    (void)dev, (void)name, (void)texts, (void)names, (void)n;
}

void ISNewBLOB(const char *dev, const char *name, int sizes[], int blobsizes[], char *blobs[], char *formats[], char *names[], int n)
{
    (void)dev, (void)name, (void)sizes, (void)blobsizes, (void)blobs, (void)formats, (void)names, (void)n;
}

void ISSnoopDevice(XMLEle *root)
{
    (void)root;
}
