import FuzzSupport

// A closure, not `fuzzBasicCredentials` itself: converting a @_cdecl function to a C function pointer emits
// its C symbol again in this file, and the link fails on the duplicate.
runFuzzer { data, size in fuzzBasicCredentials(data, size) }
