/* The org.mailspool.Spool1.Transport interface of a transport object. */
#include "transport.h"

#include <stddef.h>

static int get_id(sd_bus *bus, const char *path, const char *iface, const char *property,
                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", t->config->id);
}

static int get_kind(sd_bus *bus, const char *path, const char *iface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", transport_kind_to_string(t->config->kind));
}

static int get_asynchronous(sd_bus *bus, const char *path, const char *iface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "b", t->config->asynchronous);
}

static int get_send_mode(sd_bus *bus, const char *path, const char *iface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(
            reply, "s", t->config->send_mode == SEND_IMMEDIATE ? "immediate" : "on-demand");
}

/* The URL without user information, so that no secret reaches the bus. */
static int get_server(sd_bus *bus, const char *path, const char *iface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        const char *url = t->config->server;
        if (!url)
                return sd_bus_message_append(reply, "s", "");

        const char *scheme_end = strstr(url, "://");
        const char *authority = scheme_end ? scheme_end + 3 : url;
        const char *at = strchr(authority, '@');
        const char *slash = strchr(authority, '/');
        if (!at || (slash && slash < at))
                return sd_bus_message_append(reply, "s", url);

        _cleanup_free_ char *clean = NULL;
        if (asprintf(&clean, "%.*s%s", (int) (authority - url), url, at + 1) < 0)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", clean);
}

static int get_queued(sd_bus *bus, const char *path, const char *iface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "u", t->queued_outbound);
}

static int get_last_error(sd_bus *bus, const char *path, const char *iface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", t->last_error);
}

static int get_next_retry(sd_bus *bus, const char *path, const char *iface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct transport *t = userdata;
        return sd_bus_message_append(reply, "t", t->next_retry);
}

static const sd_bus_vtable transport_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Id", "s", get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Kind", "s", get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Asynchronous", "b", get_asynchronous, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("SendMode", "s", get_send_mode, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Server", "s", get_server, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("QueuedOutbound", "u", get_queued, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("LastError", "s", get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NextRetry", "t", get_next_retry, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_SIGNAL_WITH_NAMES("MessageReceived", "os", SD_BUS_PARAM(message) SD_BUS_PARAM(path), 0),
    SD_BUS_VTABLE_END,
};

int transport_object_register(struct transport *t)
{
        sd_bus *bus = t->daemon->bus;
        int r = sd_bus_add_object_vtable(bus, &t->slots[0], t->path, MAILSPOOL_IFACE_STATUS, status_vtable,
                                         &t->status);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(bus, &t->slots[1], t->path, MAILSPOOL_IFACE_TRANSPORT,
                                        transport_vtable, t);
}
