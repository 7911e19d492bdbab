#ifndef PERSONA_PROXY_CSUPPORT_H
#define PERSONA_PROXY_CSUPPORT_H

/// Names the calling thread as `top -H`, `ps -L`, perf and /proc/<pid>/task/<tid>/comm show it
/// (the kernel keeps 15 bytes). Swift's Glibc module exports neither prctl nor
/// pthread_setname_np, and Foundation's Thread.name does not reach the kernel on Linux.
/// Returns 0, or -1 with errno set.
int ppx_name_this_thread(const char *name);

/// glibc's memmem (a two-way search), which Swift's Glibc module does not export (it is a GNU
/// extension): the first place `needle` occurs in `haystack`, or NULL.
#include <stddef.h>
const void *ppx_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

#endif
