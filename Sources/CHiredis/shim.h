// The one place Swift sees hiredis. Only `HallpassRedis` imports this module.
// Hallpass uses hiredis for the protocol only (command encoding and reply parsing);
// SwiftNIO owns the sockets, so no hiredis call here ever blocks on the network.
#ifndef HALLPASS_CHIREDIS_SHIM_H
#define HALLPASS_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

// The reply type tags are macros; constants let Swift switch on them.
static const int hallpass_REDIS_REPLY_STRING = REDIS_REPLY_STRING;
static const int hallpass_REDIS_REPLY_ARRAY = REDIS_REPLY_ARRAY;
static const int hallpass_REDIS_REPLY_INTEGER = REDIS_REPLY_INTEGER;
static const int hallpass_REDIS_REPLY_NIL = REDIS_REPLY_NIL;
static const int hallpass_REDIS_REPLY_STATUS = REDIS_REPLY_STATUS;
static const int hallpass_REDIS_REPLY_ERROR = REDIS_REPLY_ERROR;
static const int hallpass_REDIS_OK = REDIS_OK;

// The reader keeps its error text in a fixed buffer inside the struct; this hands it out
// without Swift having to reach into a C array tuple.
static inline const char *hallpass_redisReaderErrorString(const redisReader *reader) {
    return reader->errstr;
}

#endif
