/* The machine's network, from rtnetlink (see netwatch.h). The kernel sends
 * a message for every change of a link, an address or a route; each one
 * (coalesced over a tenth of a second) has the main routing table dumped
 * again, and the answer is whether it holds a unicast route that is not
 * IPv6 link-local. A link going down takes its routes with it, so a cable
 * pulled or a Wi-Fi lost is an answer of false within that tenth. */
#include "netwatch.h"

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include "log.h"

#define SETTLE_USEC (100 * USEC_PER_MSEC)

struct netwatch {
        int fd;
        sd_event_source *io, *settle;
        uint32_t seq;
        bool dumping, dump_again, any_route, online;
        netwatch_changed_t changed;
        void *userdata;
};

struct netwatch *netwatch_free(struct netwatch *w)
{
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->settle);
        if (w->fd >= 0)
                close(w->fd);
        free(w);
        return NULL;
}

static int dump_routes(struct netwatch *w)
{
        struct {
                struct nlmsghdr h;
                struct rtmsg r;
        } req = {
            .h = {.nlmsg_len = sizeof(req),
                  .nlmsg_type = RTM_GETROUTE,
                  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                  .nlmsg_seq = ++w->seq},
            .r = {.rtm_family = AF_UNSPEC},
        };
        if (send(w->fd, &req, sizeof(req), 0) < 0)
                return -errno;
        w->dumping = true;
        w->dump_again = false;
        w->any_route = false;
        return 0;
}

/* A route that takes mail somewhere: main table, unicast, not fe80::/64. */
static bool route_counts(const struct nlmsghdr *h)
{
        const struct rtmsg *r = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*r)) || r->rtm_table != RT_TABLE_MAIN ||
            r->rtm_type != RTN_UNICAST)
                return false;
        if (r->rtm_family != AF_INET6 || r->rtm_dst_len == 0)
                return true;
        int len = (int) RTM_PAYLOAD(h);
        for (const struct rtattr *a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) >= 2) {
                        const uint8_t *d = RTA_DATA(a);
                        return !(d[0] == 0xfe && (d[1] & 0xc0) == 0x80);
                }
        return true;
}

static void dump_done(struct netwatch *w)
{
        w->dumping = false;
        bool online = w->any_route;
        if (w->dump_again)
                (void) dump_routes(w);
        if (online == w->online)
                return;
        w->online = online;
        log_notice("the machine is %s", online ? "online" : "offline: no network route");
        if (w->changed)
                w->changed(online, w->userdata);
}

static int settle_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct netwatch *w = userdata;
        if (w->dumping)
                w->dump_again = true;
        else if (dump_routes(w) < 0)
                log_warning("cannot read the routing table: %m");
        return 0;
}

/* Reads what the kernel sent; returns true once a dump ended. */
static bool read_messages(struct netwatch *w)
{
        bool ended = false;
        for (;;) {
                uint8_t buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
                ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n < 0 && errno == ENOBUFS) /* missed messages: ask again */
                                sd_event_source_set_enabled(w->settle, SD_EVENT_ONESHOT);
                        return ended;
                }
                int len = (int) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (unsigned) len);
                     h = NLMSG_NEXT(h, len)) {
                        bool ours = w->dumping && h->nlmsg_seq == w->seq && h->nlmsg_pid != 0;
                        if (ours && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)) {
                                dump_done(w);
                                ended = true;
                        } else if (ours && h->nlmsg_type == RTM_NEWROUTE) {
                                if (route_counts(h))
                                        w->any_route = true;
                        } else if (h->nlmsg_seq == 0) {
                                /* A change: read the table again once things settle. */
                                uint64_t now = 0;
                                (void) sd_event_now(sd_event_source_get_event(w->settle),
                                                    CLOCK_MONOTONIC, &now);
                                sd_event_source_set_time(w->settle, now + SETTLE_USEC);
                                sd_event_source_set_enabled(w->settle, SD_EVENT_ONESHOT);
                        }
                }
        }
}

static int io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        (void) read_messages(userdata);
        return 0;
}

int netwatch_new(sd_event *event, netwatch_changed_t changed, void *userdata, struct netwatch **ret,
                 bool *ret_online)
{
        struct netwatch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        struct sockaddr_nl addr = {
            .nl_family = AF_NETLINK,
            .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                         RTMGRP_IPV6_ROUTE,
        };
        int r = w->fd < 0 || bind(w->fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(event, &w->io, w->fd, EPOLLIN, io_cb, w);
        if (r >= 0)
                r = sd_event_add_time(event, &w->settle, CLOCK_MONOTONIC, 0, 0, settle_cb, w);
        if (r >= 0) {
                sd_event_source_set_enabled(w->settle, SD_EVENT_OFF);
                r = dump_routes(w);
        }
        /* The first answer before we return: wait for the dump (the kernel
         * answers at once; a bounded wait all the same). */
        for (int i = 0; r >= 0 && w->dumping && i < 100; i++) {
                struct pollfd p = {.fd = w->fd, .events = POLLIN};
                if (poll(&p, 1, 10) > 0)
                        (void) read_messages(w);
        }
        if (r < 0) {
                netwatch_free(w);
                return r;
        }
        w->online = w->any_route;
        w->changed = changed;
        w->userdata = userdata;
        *ret_online = w->online;
        *ret = w;
        return 0;
}
