// Empty: a C target needs a source file; the declaration in include/CFuzzer.h is the point.
#include "CFuzzer.h"
