#include "quota.h"

#define GIB (UINT64_C(1) << 30)

static uint64_t share(uint64_t configured, uint64_t fs_size, uint64_t divisor, uint64_t cap)
{
        if (configured != CONFIG_FROM_DISK)
                return configured;
        uint64_t part = fs_size / divisor;
        return part < cap ? part : cap;
}

struct quota_limits quota_limits_for(const struct spool_config *c, uint64_t fs_size)
{
        return (struct quota_limits){
            .messages = c->user_queue_messages,
            .bytes = share(c->user_queue_size, fs_size, 10, 2 * GIB),
            .reserve = share(c->disk_reserve, fs_size, 20, GIB),
        };
}

enum quota_verdict quota_check(const struct quota_limits *l, uint64_t queued, uint64_t queued_bytes,
                               uint64_t size, uint64_t free_bytes, bool privileged)
{
        if (queued >= l->messages)
                return QUOTA_MESSAGES;
        if (queued_bytes > l->bytes || size > l->bytes - queued_bytes)
                return QUOTA_BYTES;
        if (!privileged && (free_bytes < l->reserve || size > free_bytes - l->reserve))
                return QUOTA_RESERVE;
        return QUOTA_OK;
}
