import FuzzSupport

// A closure, not `fuzzCookies` itself: converting a @_cdecl function to a C function pointer emits
// its C symbol again in this file, and the link fails on the duplicate.
runFuzzer { data, size in fuzzCookies(data, size) }
