/* MAPI's numbers, as fixed by docs/api.md ("Constants"). They are MAPI's own
 * values so that a person who knows MAPI reads our properties without a table. */
#pragma once

/* FlushQueues flags */
#define FLUSH_UPLOAD    0x02u
#define FLUSH_DOWNLOAD  0x04u
#define FLUSH_FORCE     0x08u
#define FLUSH_NO_UI     0x10u
#define FLUSH_ASYNC_OK  0x20u
#define FLUSH_ALL_FLAGS (FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_FORCE | FLUSH_NO_UI | FLUSH_ASYNC_OK)

/* ResourceMethods */
#define STATUS_VALIDATE_STATE  0x1u
#define STATUS_SETTINGS_DIALOG 0x2u
#define STATUS_CHANGE_PASSWORD 0x4u
#define STATUS_FLUSH_QUEUES    0x8u

/* StatusCode */
#define STATUS_AVAILABLE        0x1u
#define STATUS_OFFLINE          0x2u
#define STATUS_FAILURE          0x4u
#define STATUS_INBOUND_ENABLED  0x10000u
#define STATUS_INBOUND_ACTIVE   0x20000u
#define STATUS_INBOUND_FLUSH    0x40000u
#define STATUS_OUTBOUND_ENABLED 0x100000u
#define STATUS_OUTBOUND_ACTIVE  0x200000u
#define STATUS_OUTBOUND_FLUSH   0x400000u
#define STATUS_REMOTE_ACCESS    0x800000u

/* ResourceFlags */
#define STATUS_DEFAULT_OUTBOUND 0x1u

/* ResourceType and ObjectType */
#define MAPI_TRANSPORT_PROVIDER 36u
#define MAPI_SPOOLER            37u
#define MAPI_STATUS             0xAu

/* ValidateState flags */
#define SUPPRESS_UI               0x1u
#define REFRESH_XP_HEADER_CACHE   0x10000u
#define PROCESS_XP_HEADER_CACHE   0x20000u
#define FORCE_XP_CONNECT          0x40000u
#define FORCE_XP_DISCONNECT       0x80000u
#define CONFIG_CHANGED            0x100000u
#define ABORT_XP_HEADER_OPERATION 0x200000u
#define SHOW_XP_SESSION_UI        0x400000u
#define VALIDATE_ALL_FLAGS                                                                         \
        (SUPPRESS_UI | REFRESH_XP_HEADER_CACHE | PROCESS_XP_HEADER_CACHE | FORCE_XP_CONNECT |      \
         FORCE_XP_DISCONNECT | CONFIG_CHANGED | ABORT_XP_HEADER_OPERATION | SHOW_XP_SESSION_UI)
#define VALIDATE_HEADER_CACHE_FLAGS                                                                \
        (REFRESH_XP_HEADER_CACHE | PROCESS_XP_HEADER_CACHE | ABORT_XP_HEADER_OPERATION)
