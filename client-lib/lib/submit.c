/* Submit and SubmitData: the message and its options in one call. */
#include "internal.h"

static int append_options(sd_bus_message *call, const struct mailspool_submit_options *o)
{
        int r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r < 0 || !o)
                return r < 0 ? r : sd_bus_message_close_container(call);
        if (o->sender) {
                r = sd_bus_message_append(call, "{sv}", "Sender", "s", o->sender);
                if (r < 0)
                        return r;
        }
        if (o->transport) {
                r = ms_append_transport(call, o->transport);
                if (r < 0)
                        return r;
        }
        if (o->on_demand) {
                r = sd_bus_message_append(call, "{sv}", "OnDemand", "b", 1);
                if (r < 0)
                        return r;
        }
        if (o->hold) {
                r = sd_bus_message_append(call, "{sv}", "Hold", "b", 1);
                if (r < 0)
                        return r;
        }
        if (o->deferred_until) {
                r = sd_bus_message_append(call, "{sv}", "DeferredUntil", "t", o->deferred_until);
                if (r < 0)
                        return r;
        }
        if (o->expiry_time) {
                r = sd_bus_message_append(call, "{sv}", "ExpiryTime", "t", o->expiry_time);
                if (r < 0)
                        return r;
        }
        const struct {
                const char *key, *value;
        } dsn[] = {
            {"DsnNotify", o->dsn_notify},
            {"DsnReturn", o->dsn_return},
            {"DsnEnvelopeId", o->dsn_envid},
        };
        for (size_t i = 0; i < sizeof(dsn) / sizeof(dsn[0]); i++)
                if (dsn[i].value) {
                        r = sd_bus_message_append(call, "{sv}", dsn[i].key, "s", dsn[i].value);
                        if (r < 0)
                                return r;
                }
        if (o->recipients) {
                r = sd_bus_message_open_container(call, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(call, "s", "Recipients");
                if (r >= 0)
                        r = sd_bus_message_open_container(call, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(call, (char **) o->recipients);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(call);
}

/* Appends the message (append_body), the options, calls, and reads the path. */
static int submit(mailspool *m, const char *method, int fd, const void *data, size_t size,
                  const struct mailspool_submit_options *o, char **ret_path)
{
        ms_error_reset(m);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r =
            sd_bus_message_new_method_call(m->bus, &call, MAILSPOOL_BUS_NAME,
                                           MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_SPOOLER, method);
        if (r >= 0)
                r = fd >= 0 ? sd_bus_message_append(call, "h", fd)
                            : sd_bus_message_append_array(call, 'y', data, size);
        if (r >= 0)
                r = append_options(call, o);
        if (r >= 0)
                r = sd_bus_call(m->bus, call, MS_CALL_TIMEOUT_USEC, &m->error, &reply);
        if (r >= 0 && ret_path)
                r = ms_read_string(reply, 'o', ret_path);
        return r < 0 ? ms_fail(m, r) : 0;
}

MS_EXPORT int mailspool_submit_fd(mailspool *m, int fd, const struct mailspool_submit_options *o,
                                  char **ret_path)
{
        if (!m || fd < 0)
                return -EINVAL;
        return submit(m, "Submit", fd, NULL, 0, o, ret_path);
}

MS_EXPORT int mailspool_submit_data(mailspool *m, const void *data, size_t size,
                                    const struct mailspool_submit_options *o, char **ret_path)
{
        if (!m || (!data && size > 0))
                return -EINVAL;
        return submit(m, "SubmitData", -1, data ? data : "", size, o, ret_path);
}
