/* Whether the machine has a network: a route other than loopback's, as the
 * kernel's routing table says (rtnetlink, on the event loop). A change of
 * links, addresses or routes reads the table again. */
#pragma once

#include <systemd/sd-event.h>

#include "util.h"

struct netwatch;

/* Called when the answer changes (not for the first one). */
typedef void (*netwatch_changed_t)(bool online, void *userdata);

/* *ret_online is the answer now (read before this returns). */
int netwatch_new(sd_event *event, netwatch_changed_t changed, void *userdata, struct netwatch **ret,
                 bool *ret_online);
struct netwatch *netwatch_free(struct netwatch *w);
