// The one place Swift sees libqrencode. Only `HallpassQR` imports this module.
#ifndef HALLPASS_CQRENCODE_SHIM_H
#define HALLPASS_CQRENCODE_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <qrencode.h>

// libqrencode reports why it failed through errno, which Swift cannot read reliably (errno is
// a thread-local macro, and the Swift runtime may call into libc between two statements).
// This reads it in the same C call, right after the failure.
static inline QRcode *hallpass_QRcode_encodeData(int size, const unsigned char *data, QRecLevel level, int *error) {
    errno = 0;
    QRcode *code = QRcode_encodeData(size, data, 0, level);
    *error = code == NULL ? errno : 0;
    return code;
}

// The errno values libqrencode documents, as constants Swift can compare with.
static const int hallpass_QR_ERANGE = ERANGE;  // the input does not fit in a version 40 symbol
static const int hallpass_QR_EINVAL = EINVAL;  // invalid input
static const int hallpass_QR_ENOMEM = ENOMEM;  // out of memory

#endif
