/*
 * Frame source for the native guest's RX test: sends COUNT Ethernet frames of SIZE bytes
 * (ethertype 0x88B5, IEEE local experimental) out of IFNAME through an AF_PACKET socket, in
 * sendmmsg batches, bypassing the qdisc. On a TAP every frame goes to the VMM reading it; while the
 * TAP's queue is full (the VMM behind), sendmmsg fails with ENOBUFS and this waits 20 us and
 * retries, so the VMM's reading sets the pace and no frame is lost.
 *   pktgen IFNAME SIZE COUNT   -> prints "sent=N ns=T"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pktgen IFNAME SIZE COUNT\n");
        return 2;
    }
    int size = atoi(argv[2]);
    long count = atol(argv[3]);
    if (size < 60 || size > 65536 || count <= 0) {
        fprintf(stderr, "pktgen: SIZE must be 60..65536 and COUNT positive\n");
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) { perror("pktgen: socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6 };
    if (!to.sll_ifindex) { perror("pktgen: if_nametoindex"); return 1; }
    unsigned char *frame = calloc(1, (size_t)size);
    memcpy(frame, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5", 14);
    memcpy(to.sll_addr, frame, 6);
    struct iovec iov = { frame, (size_t)size };
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++)
        msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 } };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long sent = 0;
    while (sent < count) {
        unsigned n = (unsigned)(count - sent < BATCH ? count - sent : BATCH);
        int r = sendmmsg(fd, msgs, n, 0);
        if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
            nanosleep(&(struct timespec){ 0, 20000 }, NULL);
            continue;
        }
        if (r < 0) { perror("pktgen: sendmmsg"); return 1; }
        sent += r;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("sent=%ld ns=%lld\n", sent, (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
