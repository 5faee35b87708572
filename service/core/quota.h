/* Whether a submission fits: what one uid may have waiting to be sent, and
 * the free space kept for root and the admin group, so that one user's flood
 * leaves room for the others' mail on any disk size. */
#pragma once

#include "config.h"

struct quota_limits {
        uint64_t messages; /* waiting messages of one uid */
        uint64_t bytes;    /* their bytes */
        uint64_t reserve;  /* free bytes only the privileged may use */
};

/* The limits in force on a state file system of fs_size bytes: the
 * configured ones, or a share of it (UserQueueSize a tenth, at most 2 GiB;
 * DiskReserve a twentieth, at most 1 GiB). */
struct quota_limits quota_limits_for(const struct spool_config *c, uint64_t fs_size);

enum quota_verdict {
        QUOTA_OK,
        QUOTA_MESSAGES, /* one more message is over the uid's count */
        QUOTA_BYTES,    /* this one's bytes are over the uid's size */
        QUOTA_RESERVE,  /* it would eat into the reserve */
};

/* For a message of size bytes from a uid that has queued messages of
 * queued_bytes waiting, with free_bytes free on the file system. The
 * privileged (root, AdminGroup) may use the reserve. */
enum quota_verdict quota_check(const struct quota_limits *l, uint64_t queued, uint64_t queued_bytes,
                               uint64_t size, uint64_t free_bytes, bool privileged);
