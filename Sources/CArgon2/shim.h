// The one place Swift sees libargon2. Only `HallpassPasswords` imports this module.
#ifndef HALLPASS_CARGON2_SHIM_H
#define HALLPASS_CARGON2_SHIM_H

#include <argon2.h>

#endif
